package main

import (
	"context"
	"fmt"
	"os"

	"github.com/intakebot/intakebot/internal/safety"
)

// runSafety is `intakebot safety test [FILE]`: a labelled file through the
// detector, with recall and false alarms per construct.
func runSafety(_ context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] != "test" {
		fmt.Fprintln(e.stderr, "Usage: intakebot safety test [--prompts DIR] [FILE]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return exitOK
		}
		return exitUsage
	}
	c := common{args: 1}
	fs := newFlags("safety test", "Usage: intakebot safety test [--prompts DIR] [FILE]\n\nRead every sentence of a labelled file (level TAB construct TAB text per line;\nlevels: emergency, crisis, check, other_person, topic, none) with the crisis\ndetector of the content (safety.yaml) and print, per construct, how each was read:\nrecall of the at-risk constructs, false alarms on the harmless ones.\nWithout FILE, the shipped corpus: its training part, then its held-out part.", &c)
	cfg, code, ok := c.setup(fs, e, args[1:])
	if !ok {
		return code
	}
	if fs.NArg() > 1 {
		fs.Usage()
		return exitUsage
	}
	d, err := safety.Load(contentFS(cfg), "safety.yaml")
	if err != nil {
		return fail(e, err)
	}
	if fs.NArg() == 1 {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return fail(e, err)
		}
		defer f.Close()
		samples, err := safety.ReadCorpus(f, fs.Arg(0))
		if err != nil {
			return fail(e, err)
		}
		report(e, fs.Arg(0), d.Evaluate(samples))
		return exitOK
	}
	samples, err := safety.ShippedCorpus()
	if err != nil {
		return fail(e, err)
	}
	train, held := safety.Split(samples)
	report(e, fmt.Sprintf("training part (%d sentences; the classifier has seen these)", len(train)), d.Evaluate(train))
	report(e, fmt.Sprintf("held-out part (%d sentences; nothing was tuned on these)", len(held)), d.Evaluate(held))
	return exitOK
}

// report prints the misses and false alarms first and the table and
// totals last, so the end of the output is the summary.
func report(e env, title string, r safety.Report) {
	fmt.Fprintf(e.stdout, "== %s\n", title)
	for _, m := range r.Misses {
		fmt.Fprintln(e.stdout, "missed: "+m)
	}
	for _, m := range r.FalseAlarms {
		fmt.Fprintln(e.stdout, "false alarm: "+m)
	}
	r.Write(e.stdout)
	fmt.Fprintln(e.stdout)
}
