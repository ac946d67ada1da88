package screening_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/screening"
)

func TestValidMinimalScript(t *testing.T) {
	src, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := screening.Parse("valid.yaml", src)
	if err != nil {
		t.Fatalf("valid script rejected:\n%v", err)
	}
	if len(s.Questions) != 3 || s.Version == "" {
		t.Fatalf("questions = %d, version = %q", len(s.Questions), s.Version)
	}
}

// TestLoaderErrors loads each testdata/bad/*.yaml, a copy of valid.yaml broken
// one way, and checks the error names file:line and the reason given on the
// file's first line ("# want: LINE: MESSAGE").
func TestLoaderErrors(t *testing.T) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) < 10 {
		t.Fatalf("found %d broken scripts; want one per loader error", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(src), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("%s: first line must be '# want: LINE: MESSAGE'", f)
			}
			name := filepath.Base(f)
			_, err = screening.Parse(name, src)
			if err == nil {
				t.Fatalf("broken script loaded without error; want %q", want)
			}
			if !strings.Contains(err.Error(), name+":"+want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, name+":"+want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	src, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(src)
	f.Add([]byte("questions: [{id: a, kind: yes_no, text: x, when: 'a'}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := screening.Parse("fuzz.yaml", b)
		if err == nil {
			// A script that loads must run without panicking.
			s.Next(nil, false)
			s.Evaluate(screening.Answers{}, true)
		}
	})
}

// FuzzLoadAnswers feeds arbitrary bytes to the answers-file loader: it must
// return answers or file:line problems, never panic or run away, and every
// answer it returns must be a valid answer to a question of the script.
// Seeds are in testdata/fuzz/FuzzLoadAnswers.
func FuzzLoadAnswers(f *testing.F) {
	s := shipped(f)
	f.Add([]byte("consent: yes\nage_18: yes\nphq9_1: nearly_every_day\n"))
	f.Add([]byte(`{"consent":"yes","reasons":["depression","anxiety"]}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		answers, err := s.LoadAnswers("answers.yaml", src)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "answers.yaml") {
				t.Fatalf("problem does not name the file: %v", err)
			}
			return
		}
		for id, a := range answers {
			q := s.Question(id)
			if q == nil || a.QuestionID != id {
				t.Fatalf("answer %q = %+v for no such question", id, a)
			}
			if a.Choice != "" && q.Option(a.Choice) == nil {
				t.Fatalf("answer %q = %q, not an option", id, a.Choice)
			}
			for _, c := range a.Choices {
				if q.Option(c) == nil {
					t.Fatalf("answer %q holds %q, not an option", id, c)
				}
			}
		}
		s.Evaluate(answers, false)
	})
}
