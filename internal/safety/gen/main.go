// Command gen trains the safety classifier on the training part of the
// labelled corpus (internal/safety/testdata/corpus, split by
// safety.HeldOut) with the shipped lexicon, and writes classifier.bin.
// Run it with `go generate ./internal/safety`; the same corpus and lexicon
// always give the same bytes.
package main

import (
	"fmt"
	"os"

	"github.com/intakebot/intakebot/internal/safety"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	d, err := safety.LoadRules(os.DirFS("../../prompts"), "safety.yaml")
	if err != nil {
		return err
	}
	samples, err := safety.ReadCorpusDir(os.DirFS("testdata"), "corpus")
	if err != nil {
		return err
	}
	train, held := safety.Split(samples)
	out := d.Train(train)
	if err := os.WriteFile("classifier.bin", out, 0o644); err != nil {
		return err
	}
	fmt.Printf("trained on %d sentences (%d held out); wrote classifier.bin (%d bytes)\n", len(train), len(held), len(out))
	return nil
}
