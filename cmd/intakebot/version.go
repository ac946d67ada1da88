package main

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/intakebot/intakebot/internal/screening"
)

// version is the release, set when building one:
// go build -ldflags "-X main.version=1.2.0" ./cmd/intakebot
var version = "dev"

func runVersion(_ context.Context, e env, args []string) int {
	var c common
	fs := newFlags("version", "Usage: intakebot version [--prompts DIR]\n\nPrint the program's version and the hash of the screening script in use\n(the script version every case records).", &c)
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	fmt.Fprintf(e.stdout, "intakebot %s\n", buildVersion())
	where := "embedded prompts"
	if cfg.PromptsDir != "" {
		where = cfg.PromptsDir
	}
	script, err := screening.Load(contentFS(cfg), "screening.yaml")
	if err != nil {
		fmt.Fprintf(e.stdout, "screening script: cannot be loaded (%s); run 'intakebot check'\n", where)
		fmt.Fprintln(e.stderr, err)
		return exitFailure
	}
	fmt.Fprintf(e.stdout, "screening script: %s (%s)\n", script.Version, where)
	return exitOK
}

// buildVersion is version, or the module version go install recorded, with
// the commit it was built from when known and the Go release.
func buildVersion() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (commit " + rev + modified + ")"
	}
	return v + " " + bi.GoVersion
}
