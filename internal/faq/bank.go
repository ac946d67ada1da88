package faq

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
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
)

// BankRow is one labelled paraphrase of the bank (faq/bank.tsv).
type BankRow struct {
	Label string
	Text  string
	Line  int
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
		rows = append(rows, BankRow{Label: strings.TrimSpace(label), Text: strings.TrimSpace(text), Line: n})
	}
	return rows, ps.Err()
}

// loadBank reads dir/bank.tsv when there is one and checks that every label
// names an entry (or is offtopic, feeling, deflect:ENTRY|none, medq:ENTRY).
func (kb *KB) loadBank(fsys fs.FS, name string) error {
	src, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return content.Problem{File: name, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	rows, err := ReadBank(name, src)
	var ps content.Problems
	if err != nil {
		ps = append(ps, content.AsProblems(err)...)
	}
	for _, r := range rows {
		id := r.Entry()
		if d, ok := strings.CutPrefix(r.Label, "deflect:"); ok && d != "none" {
			id = d
		}
		if id != "" && kb.byID[id] == nil {
			ps = append(ps, content.Problem{File: name, Line: r.Line, Msg: fmt.Sprintf("label %q names no entry", r.Label)})
		}
	}
	kb.Bank = rows
	return ps.Err()
}
