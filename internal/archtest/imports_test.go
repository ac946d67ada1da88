// Package archtest keeps the import rules of shared/DESIGN.md: the domain
// stays free of drivers, SDKs and configuration, and only cmd/intakebot wires
// them together.
package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/intakebot/intakebot"

// imports maps each package directory (relative to the module root) to the
// packages its non-test files import.
func imports(t *testing.T) map[string][]string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			out[rel] = append(out[rel], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func under(dir, prefix string) bool { return dir == prefix || strings.HasPrefix(dir, prefix+"/") }

func TestImportRules(t *testing.T) {
	all := imports(t)
	if len(all) < 8 {
		t.Fatalf("found only %d packages; is the walk rooted right?", len(all))
	}
	domain := []string{"internal/screening", "internal/conversation", "internal/faq", "internal/safety", "internal/handoff", "internal/clinic", "internal/content", "internal/console"}
	for dir, imps := range all {
		for _, p := range imps {
			local := strings.TrimPrefix(p, module+"/")
			isLocal := local != p
			switch {
			case dir == "internal/intake" && strings.Contains(strings.Split(p, "/")[0], "."):
				t.Errorf("%s imports %s: internal/intake may import only the standard library", dir, p)
			case strings.HasPrefix(p, "github.com/bwmarrin/discordgo") && !under(dir, "bot"):
				t.Errorf("%s imports discordgo: only bot/ may", dir)
			case strings.HasPrefix(p, "github.com/sashabaranov/go-openai") && !under(dir, "internal/llm"):
				t.Errorf("%s imports go-openai: only internal/llm may", dir)
			case (strings.HasPrefix(p, "modernc.org/sqlite") || strings.HasPrefix(p, "github.com/jackc/pgx")) && !under(dir, "internal/store"):
				t.Errorf("%s imports the driver %s: only internal/store/... may", dir, p)
			case strings.HasPrefix(p, "github.com/santhosh-tekuri/jsonschema") && dir != "bot/discordfake/schema":
				t.Errorf("%s imports jsonschema: only bot/discordfake/schema may (tests import it; the binary must not link it)", dir)
			case isLocal && local == "bot/discordfake/schema":
				t.Errorf("%s imports bot/discordfake/schema, which only tests import (its init costs every command start-up)", dir)
			case isLocal && local == "internal/testkit":
				t.Errorf("%s imports internal/testkit, which is for tests only", dir)
			case dir == "internal/testkit":
				// The test kit wires the real pieces for tests; only tests import it.
			case isLocal && (local == "internal/config" || under(local, "internal/store") || local == "internal/llm" || local == "prompts") && dir != "cmd/intakebot":
				t.Errorf("%s imports %s: only cmd/intakebot wires config, stores, llm and prompts", dir, local)
			case isLocal && under(local, "bot/discordfake") && dir != "cmd/intakebot" && !under(dir, "bot"):
				t.Errorf("%s imports the fake Discord", dir)
			}
			for _, d := range domain {
				if dir == d && (p == "database/sql" || (isLocal && local == "internal/config")) {
					t.Errorf("%s imports %s: domain packages stay free of SQL and configuration", dir, p)
				}
			}
			// The web console is an adapter beside bot/: it reaches the bot's
			// case actions through an interface, never bot/ or a store.
			if dir == "internal/staffweb" && (p == "database/sql" || (isLocal && (under(local, "bot") || under(local, "internal/store")))) {
				t.Errorf("internal/staffweb imports %s: it calls case actions through its Actions interface and reads through CaseReader", p)
			}
			if dir == "internal/console" && isLocal && local != "internal/intake" {
				t.Errorf("internal/console imports %s: the terminal adapter sees only internal/intake", local)
			}
		}
	}
}
