package main

import (
	"context"
	"fmt"
	"strings"
)

type askJSON struct {
	Kind    string   `json:"kind"`
	Text    string   `json:"text"`
	Sources []string `json:"sources"`
	Score   float64  `json:"score"`
}

func runAsk(ctx context.Context, e env, args []string) int {
	c := common{args: anyArgs}
	fs := newFlags("ask", "Usage: intakebot ask [--json] \"QUESTION\"\n\nAnswer one question through the same engine as the chat: crisis scan, medical-advice\ndeflection, then the knowledge base (and the model, when one is configured).\nNo session, nothing stored.", &c)
	jsonOut := fs.Bool("json", false, `print {"kind","text","sources","score"}`)
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	question := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if question == "" {
		fs.Usage()
		return exitUsage
	}
	b, err := loadContent(contentFS(cfg))
	if err != nil {
		return fail(e, err)
	}
	if e.getenv("INTAKEBOT_LOG_LEVEL") == "" {
		cfg.LogLevel = "warn" // a one-shot command: only problems on stderr
	}
	log, closer, err := newLogger(cfg, "")
	if err != nil {
		return fail(e, err)
	}
	defer closer.Close()
	// Ask touches no store; the engine is built without one.
	eng, err := b.engine(cfg, nil, log, nil)
	if err != nil {
		return fail(e, err)
	}
	a := eng.Ask(ctx, question)
	if *jsonOut {
		if a.Sources == nil {
			a.Sources = []string{}
		}
		return writeJSON(e, askJSON{Kind: a.Kind, Text: a.Text, Sources: a.Sources, Score: round2(a.Score)})
	}
	fmt.Fprintln(e.stdout, a.Text)
	return exitOK
}

func round2(f float64) float64 { return float64(int(f*100+0.5)) / 100 }
