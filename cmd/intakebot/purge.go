package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/intakebot/intakebot/internal/store/sqlite"
)

func runPurge(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("purge", "Usage: intakebot purge [--dry-run] [--json]\n\n"+
		"Erase what is older than INTAKEBOT_RETENTION (default 365d), as /forget-me erases: finished screenings and their\n"+
		"answers, the details of closed cases, and the user ids of patients left with nothing else. Active screenings and\n"+
		"cases not closed are kept. `run` does this once a day; --dry-run shows what would go and changes nothing.", &c)
	dry := fs.Bool("dry-run", false, "show what would be erased; change nothing")
	jsonOut := fs.Bool("json", false, "print the counts as JSON")
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return exitUsage
	}
	st, _, err := staffStore(ctx, e, cfg)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	before := time.Now().Add(-cfg.Retention)
	n, err := st.Purge(ctx, before, *dry)
	if err != nil {
		return fail(e, err)
	}
	if *jsonOut {
		return writeJSON(e, struct {
			DryRun   bool      `json:"dry_run"`
			Before   time.Time `json:"before"`
			Sessions int       `json:"sessions"`
			Answers  int       `json:"answers"`
			Cases    int       `json:"cases"`
			Patients int       `json:"patients"`
		}{*dry, before.UTC(), n.Sessions, n.Answers, n.Cases, n.Patients})
	}
	verb := "Erased"
	if *dry {
		verb = "Would erase"
	}
	fmt.Fprintf(e.stdout, "%s, from before %s: %d finished screenings (%d answers), the details of %d closed cases, the user ids of %d patients.\n",
		verb, before.Local().Format(time.DateOnly), n.Sessions, n.Answers, n.Cases, n.Patients)
	return exitOK
}

// retain runs the retention sweep at start and then once a day until ctx
// ends; what it erased is in the audit log (counts only).
func retain(ctx context.Context, st *sqlite.Store, retention time.Duration, log *slog.Logger) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		n, err := st.Purge(ctx, time.Now().Add(-retention), false)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("retention sweep", slog.Any("err", err))
		case err == nil:
			log.Info("retention sweep", slog.Int("sessions", n.Sessions), slog.Int("answers", n.Answers), slog.Int("cases", n.Cases), slog.Int("patients", n.Patients))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
