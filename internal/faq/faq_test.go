package faq_test

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/intakebot/intakebot/internal/clinic"
	"github.com/intakebot/intakebot/internal/faq"
	"github.com/intakebot/intakebot/prompts"
)

func load(t testing.TB) (*faq.KB, faq.Synonyms) {
	t.Helper()
	fsys := prompts.Embedded()
	cl, err := clinic.LoadClinic(fsys, "clinic.yaml")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := clinic.LoadMessages(fsys, "messages.yaml", cl)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := faq.Load(fsys, "faq", msgs.Text)
	if err != nil {
		t.Fatalf("load shipped knowledge base:\n%v", err)
	}
	syn, err := faq.LoadSynonyms(fsys, "faq/synonyms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return kb, syn
}

type labelled struct{ id, q string }

func readTable(t *testing.T) []labelled {
	f, err := os.Open("testdata/questions.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []labelled
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			id, q, ok := strings.Cut(l, "\t")
			if !ok {
				t.Fatalf("bad line %q", l)
			}
			out = append(out, labelled{id, q})
		}
	}
	return out
}

func norm(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(strings.Trim(s, "?!. "))), " ")
}

// TestRetrievalQuality checks retrieval on questions phrased as patients
// phrase them: at least 90% of them find the right entry first and 97% in the
// top three; none is copied from an entry's example questions.
func TestRetrievalQuality(t *testing.T) {
	kb, syn := load(t)
	ix := faq.NewIndex(kb, syn)
	table := readTable(t)
	examples := map[string]bool{}
	for _, e := range kb.Entries {
		for _, q := range e.Questions {
			examples[norm(q)] = true
		}
	}
	perEntry := map[string]int{}
	top1, top3 := 0, 0
	for _, row := range table {
		if kb.Entry(row.id) == nil {
			t.Fatalf("table names unknown entry %q", row.id)
		}
		if examples[norm(row.q)] {
			t.Errorf("%q is copied from the entry's example questions", row.q)
		}
		perEntry[row.id]++
		r := ix.Search(row.q, 3)
		for i, h := range r.Hits {
			if h.Entry.ID == row.id {
				if i == 0 {
					top1++
				}
				top3++
				break
			}
		}
		if len(r.Hits) == 0 || r.Hits[0].Entry.ID != row.id {
			got := "nothing"
			if len(r.Hits) > 0 {
				got = r.Hits[0].Entry.ID
			}
			t.Logf("miss: %q -> %s (want %s)", row.q, got, row.id)
		}
	}
	for _, e := range kb.Entries {
		if perEntry[e.ID] < 4 {
			t.Errorf("entry %s has %d test questions; want at least 4", e.ID, perEntry[e.ID])
		}
	}
	n := len(table)
	if n < 120 {
		t.Fatalf("table has %d questions; want at least 120", n)
	}
	p1, p3 := float64(top1)/float64(n), float64(top3)/float64(n)
	t.Logf("retrieval over %d questions: top-1 %.1f%%, top-3 %.1f%%", n, 100*p1, 100*p3)
	if p1 < 0.90 || p3 < 0.97 {
		t.Errorf("top-1 %.1f%% (want >= 90%%), top-3 %.1f%% (want >= 97%%)", 100*p1, 100*p3)
	}
}

func TestOffTopicGetsNoAnswer(t *testing.T) {
	kb, syn := load(t)
	ix := faq.NewIndex(kb, syn)
	b, err := os.ReadFile("testdata/offtopic.txt")
	if err != nil {
		t.Fatal(err)
	}
	qs := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(qs) < 15 {
		t.Fatalf("%d off-topic questions; want at least 15", len(qs))
	}
	for _, q := range qs {
		if v := ix.Decide(q); v.Kind == faq.KindAnswer {
			t.Errorf("off-topic %q answered from %s (score %.2f)", q, v.Best().ID, v.Score)
		}
	}
	if v := ix.Decide("who takes me home after an infusion?"); v.Kind != faq.KindAnswer || v.Best().ID != "driving-home" {
		t.Errorf("driving question: %+v", v)
	}
}

func TestEntriesFitOneMessage(t *testing.T) {
	kb, _ := load(t)
	want := strings.Fields("what-is-ketamine how-it-works conditions-treated how-fast success-rate treatment-course maintenance session-experience side-effects driving-home eating-before addiction-risk candidacy medications cost-insurance referral esketamine-vs-iv pregnancy privacy talk-to-staff safety-monitoring screening-process")
	for _, id := range want {
		e := kb.Entry(id)
		if e == nil {
			t.Errorf("entry %s is missing", id)
			continue
		}
		if n := len([]rune(e.Body)); n > faq.MaxBody || n < 200 {
			t.Errorf("%s: %d characters", id, n)
		}
		if strings.Contains(e.Body, "{{") {
			t.Errorf("%s: unrendered template", id)
		}
	}
}

func TestLoaderErrorsNameFileAndLine(t *testing.T) {
	fsys := fstest.MapFS{
		"faq/no-front.md":   {Data: []byte("just text\n")},
		"faq/bad-yaml.md":   {Data: []byte("---\ntitle: x\nquestions: [a]\ntagz: [b]\n---\nbody\n")},
		"faq/bad-policy.md": {Data: []byte("---\ntitle: x\nquestions: [a]\n---\nline one\n{{policy \"nope\"}}\n")},
		"faq/too-long.md":   {Data: []byte("---\ntitle: x\nquestions: [a]\n---\n" + strings.Repeat("word ", 400) + "\n")},
		"faq/Bad_Name.md":   {Data: []byte("---\ntitle: x\nquestions: [a]\n---\nbody\n")},
	}
	render := func(src string) (string, error) {
		if strings.Contains(src, "policy") {
			return "", errors.New(`clinic.yaml has no policy "nope"`)
		}
		return src, nil
	}
	_, err := faq.Load(fsys, "faq", render)
	if err == nil {
		t.Fatal("broken entries loaded")
	}
	for _, want := range []string{
		"faq/no-front.md:1: an entry starts with front matter",
		`faq/bad-yaml.md:4: unknown field "tagz"`,
		`faq/bad-policy.md:5: answer does not render: clinic.yaml has no policy "nope"`,
		"faq/too-long.md:5: the answer is 1999 characters",
		"faq/Bad_Name.md: file name must be the entry id",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors:\n%v\nlack %q", err, want)
		}
	}
}

func BenchmarkIndexBuild(b *testing.B) {
	kb, syn := load(b)
	for b.Loop() {
		faq.NewIndex(kb, syn)
	}
}

func BenchmarkRetrieval(b *testing.B) {
	kb, syn := load(b)
	ix := faq.NewIndex(kb, syn)
	qs := []string{"who takes me home after an infusion?", "does my insurence cover this", "whats the science behind it", "can i still take my lexapro", "tell me a joke"}
	for i := 0; b.Loop(); i++ {
		ix.Decide(qs[i%len(qs)])
	}
}

func TestBankLabelsNameEntries(t *testing.T) {
	fsys := fstest.MapFS{
		"faq/one.md":           {Data: []byte("---\ntitle: One\nquestions: [a]\n---\nbody\n")},
		"faq/bank/one.tsv":     {Data: []byte("one\tfirst question\nnope\tsecond\nno tab here\ndeflect:one\tthird\nfeeling\tsad\n")},
		"faq/bank/feeling.tsv": {Data: []byte("feeling\tlow today\nmedq:one\tcan i take aspirin\n")},
	}
	_, err := faq.Load(fsys, "faq", func(s string) (string, error) { return s, nil })
	if err == nil {
		t.Fatal("a bank with an unknown label loaded")
	}
	for _, want := range []string{`faq/bank/one.tsv:2: label "nope" names no entry`, "faq/bank/one.tsv:3: a bank line is label<TAB>question",
		`faq/bank/one.tsv:5: label "feeling" belongs in faq/bank/feeling.tsv`, `faq/bank/feeling.tsv:2: label "medq:one" belongs in faq/bank/one.tsv`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors:\n%v\nlack %q", err, want)
		}
	}
}
