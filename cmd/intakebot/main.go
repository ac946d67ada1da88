// Command intakebot is the intake assistant for a ketamine-infusion clinic.
// It is the only package that wires configuration, the store, the content and
// the adapters together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// env is what a command gets from its process: arguments aside, everything
// tests replace.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

type command struct {
	name, summary string
	run           func(ctx context.Context, e env, args []string) int
}

func commands() []command {
	return []command{
		{"chat", "talk to the bot in the terminal, as a patient (the main job)", runChat},
		{"run", "run the Discord bot (needs DISCORD_TOKEN)", runRun},
		{"console", "the staff web console alone (run serves it too)", runConsole},
		{"demo", "the Discord bot against a loopback Discord, played from the terminal", runDemo},
		{"ask", "answer one question, as the chat would (--json for programs)", runAsk},
		{"screen", "score an answer file (--answers) or run the clinic's test cases (screen test)", runScreen},
		{"check", "validate all content under prompts/ (or --prompts DIR)", runCheck},
		{"safety", "measure the crisis detector on a labelled file (safety test [FILE])", runSafety},
		{"handoffs", "list and show cases for staff (handoffs list, handoffs show ID)", runHandoffs},
		{"audit", "print the audit log", runAudit},
		{"rekey", "rotate the data key: seal every value again with a new key, then retire the old one", runRekey},
		{"purge", "erase what is older than INTAKEBOT_RETENTION (--dry-run shows what would go)", runPurge},
		{"version", "print the version and the screening script's hash", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "intakebot: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: intakebot <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'intakebot <command> -h' for a command's flags.")
}

// parse parses flags; it returns the exit code to use when the command must
// stop (help shown, or a usage error).
func parse(fs *flag.FlagSet, e env, args []string) (int, bool) {
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}
