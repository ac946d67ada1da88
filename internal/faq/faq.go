// Package faq owns the clinic-approved knowledge base (prompts/faq/*.md):
// loading and validating entries, and retrieval that finds the right entry for
// the way patients actually ask, offline, with a confidence score so that a
// weak match is reported as unknown rather than dressed up as an answer.
//
// Retrieval is a small in-memory index rather than a search library, so that
// stemming, synonyms and typo tolerance work together (a library's fuzzy
// queries skip analysis, so "insurence" and "covered" could not both reach
// "insurance"). An entry's score mixes three readings of the question: BM25F
// over the entry's title, example questions, tags, answer and its paraphrases
// in the bank (faq/bank/*.tsv); the cosine similarity to its nearest
// paraphrases; and a softmax classifier trained on the bank when the index is
// built. The bank's off-topic questions and statements of feelings are
// classes too, so "sleep on a plane" and "I feel so alone" are recognised as
// what they are rather than matched to the entry they share a word with.
//
// It must not import database/sql, a driver, discordgo, go-openai or config.
package faq

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/intakebot/intakebot/internal/content"
)

// MaxBody bounds a rendered answer so it fits one Discord message (2,000
// characters) with room for the source line and disclaimer.
const MaxBody = 1500

// Entry is one approved question-and-answer.
type Entry struct {
	ID        string   `yaml:"-"`
	Title     string   `yaml:"title"`
	Questions []string `yaml:"questions"`
	Tags      []string `yaml:"tags"`
	Body      string   `yaml:"-"` // rendered with the clinic's facts
	File      string   `yaml:"-"`
}

// KB is the loaded knowledge base.
type KB struct {
	Entries []*Entry
	// Bank holds the patient-style paraphrases of dir/bank/*.tsv: retrieval
	// compares a question with them as well as with the entries.
	Bank []BankRow
	byID map[string]*Entry
}

// Entry returns the entry with id, or nil.
func (kb *KB) Entry(id string) *Entry { return kb.byID[id] }

var entryID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// Load reads every dir/*.md in fsys. render fills clinic facts into a body
// (templates such as {{.Clinic.Name}} and {{policy "fasting"}}). Every problem
// is reported with file:line.
func Load(fsys fs.FS, dir string, render func(src string) (string, error)) (*KB, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.md"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, content.Problems{{File: dir, Msg: "the knowledge base has no entries (*.md)"}}
	}
	sort.Strings(names)
	kb := &KB{byID: map[string]*Entry{}}
	var ps content.Problems
	for _, name := range names {
		e, err := parseEntry(fsys, name, render)
		if err != nil {
			ps = append(ps, content.AsProblems(err)...)
			continue
		}
		kb.Entries = append(kb.Entries, e)
		kb.byID[e.ID] = e
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	if err := kb.loadBank(fsys, path.Join(dir, "bank")); err != nil {
		return nil, err
	}
	return kb, nil
}

func parseEntry(fsys fs.FS, name string, render func(string) (string, error)) (*Entry, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, content.Problem{File: name, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	id := strings.TrimSuffix(path.Base(name), ".md")
	if !entryID.MatchString(id) {
		return nil, content.Problem{File: name, Msg: "file name must be the entry id: lowercase letters, digits and dashes"}
	}
	src = bytes.ReplaceAll(src, []byte("\r\n"), []byte("\n"))
	if !bytes.HasPrefix(src, []byte("---\n")) {
		return nil, content.Problem{File: name, Line: 1, Msg: "an entry starts with front matter between --- lines (title, questions, tags)"}
	}
	rest := src[4:]
	end := bytes.Index(rest, []byte("\n---\n"))
	if end < 0 {
		return nil, content.Problem{File: name, Line: 1, Msg: "front matter is not closed with a --- line"}
	}
	front, body := rest[:end+1], rest[end+5:]
	bodyLine := 3 + bytes.Count(front, []byte("\n"))
	e := &Entry{ID: id, File: name}
	if _, err := content.Decode(name, front, e); err != nil {
		ps := content.AsProblems(err)
		for i := range ps {
			if ps[i].Line > 0 {
				ps[i].Line++ // the front matter starts on line 2
			}
		}
		return nil, ps
	}
	var ps content.Problems
	if strings.TrimSpace(e.Title) == "" {
		ps = append(ps, content.Problem{File: name, Line: 2, Msg: "title is missing"})
	}
	if len(e.Questions) == 0 {
		ps = append(ps, content.Problem{File: name, Line: 2, Msg: "questions is empty: give at least one example question"})
	}
	rendered, err := render(string(body))
	rendered = strings.TrimSpace(rendered)
	switch {
	case err != nil:
		ps = append(ps, content.Problem{File: name, Line: bodyLine, Msg: fmt.Sprintf("answer does not render: %v", err)})
	case rendered == "":
		ps = append(ps, content.Problem{File: name, Line: bodyLine, Msg: "the answer is empty"})
	case len([]rune(rendered)) > MaxBody:
		ps = append(ps, content.Problem{File: name, Line: bodyLine, Msg: fmt.Sprintf("the answer is %d characters once filled in; keep it under %d so it fits one message", len([]rune(rendered)), MaxBody)})
	}
	e.Body = rendered
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return e, nil
}
