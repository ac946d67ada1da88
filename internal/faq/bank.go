package faq

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/intakebot/intakebot/internal/content"
)

// Bank labels other than entry ids. A paraphrase labelled medq:ENTRY is a
// question about medicines that ENTRY answers, so it counts for ENTRY;
// deflect:… rows are requests for medical advice (deflected by the safety
// rules before retrieval) and are kept for evaluation only.
const (
	LabelOffTopic = "offtopic"
	LabelFeeling  = "feeling"
	// LabelSocial: thanks, goodbyes, "ok", "see you friday": a reply in
	// kind, never an entry.
	LabelSocial = "social"
	// labelDeflect prefixes a request only a clinician may answer:
	// deflect:ENTRY (the entry covering its general topic) or deflect:none.
	labelDeflect = "deflect:"
)

// BankRow is one labelled paraphrase of the bank (faq/bank/*.tsv).
type BankRow struct {
	Label string
	Text  string
	File  string
	Line  int
}

// BankFile is the file of the bank a label's lines are kept in: an entry's
// paraphrases, its medicine questions (medq:ENTRY) and the requests
// deflected towards it (deflect:ENTRY) in bank/ENTRY.tsv, beside the
// entry; feelings, off-topic questions, thanks and goodbyes, and
// deflections with no entry in files of their own.
func BankFile(label string) string {
	switch {
	case label == LabelOffTopic || label == LabelFeeling || label == LabelSocial:
		return label + ".tsv"
	case label == "deflect:none":
		return "deflect-none.tsv"
	}
	if _, id, ok := strings.Cut(label, ":"); ok {
		return id + ".tsv"
	}
	return label + ".tsv"
}

// Entry returns the entry id the row stands for, or "" for off-topic,
// feeling, social and deflection rows.
func (r BankRow) Entry() string {
	if id, ok := strings.CutPrefix(r.Label, "medq:"); ok {
		return id
	}
	if r.Label == LabelOffTopic || r.Label == LabelFeeling || r.Label == LabelSocial || strings.HasPrefix(r.Label, "deflect:") {
		return ""
	}
	return r.Label
}

// ReadBank parses `label<TAB>text` lines; blank lines and lines starting with
// # are skipped. It does not check labels against a knowledge base.
func ReadBank(name string, src []byte) ([]BankRow, error) {
	var rows []BankRow
	var ps content.Problems
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		label, text, ok := strings.Cut(l, "\t")
		if !ok || strings.TrimSpace(text) == "" {
			ps = append(ps, content.Problem{File: name, Line: n, Msg: "a bank line is label<TAB>question"})
			continue
		}
		rows = append(rows, BankRow{Label: strings.TrimSpace(label), Text: strings.TrimSpace(text), File: name, Line: n})
	}
	return rows, ps.Err()
}

// loadBank reads the bank's files, dir/*.tsv in name order, when there
// are any, and checks that every label names an entry (or is offtopic,
// feeling, social, deflect:ENTRY|none, medq:ENTRY) and is kept in its
// file (BankFile).
func (kb *KB) loadBank(fsys fs.FS, dir string) error {
	names, err := fs.Glob(fsys, path.Join(dir, "*.tsv"))
	if err != nil {
		return content.Problem{File: dir, Msg: fmt.Sprintf("cannot list: %v", err)}
	}
	sort.Strings(names)
	var ps content.Problems
	var all []BankRow
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			ps = append(ps, content.Problem{File: name, Msg: fmt.Sprintf("cannot read: %v", err)})
			continue
		}
		rows, err := ReadBank(name, src)
		if err != nil {
			ps = append(ps, content.AsProblems(err)...)
		}
		for _, r := range rows {
			id := r.Entry()
			if d, ok := strings.CutPrefix(r.Label, "deflect:"); ok && d != "none" {
				id = d
			}
			switch {
			case id != "" && kb.byID[id] == nil:
				ps = append(ps, content.Problem{File: name, Line: r.Line, Msg: fmt.Sprintf("label %q names no entry", r.Label)})
			case path.Base(name) != BankFile(r.Label):
				ps = append(ps, content.Problem{File: name, Line: r.Line, Msg: fmt.Sprintf("label %q belongs in %s", r.Label, path.Join(dir, BankFile(r.Label)))})
			}
		}
		all = append(all, rows...)
	}
	kb.Bank = all
	return ps.Err()
}
