// Package testkit builds the real engine on the shipped content and a real
// SQLite file, for tests in other packages. It is imported only from tests
// (internal/archtest keeps it so).
package testkit

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/intakebot/intakebot/internal/clinic"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/faq"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/safety"
	"github.com/intakebot/intakebot/internal/screening"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
	"github.com/intakebot/intakebot/prompts"
)

// Kit is an engine with its store.
type Kit struct {
	Path   string
	Key    []byte
	Store  *sqlite.Store
	Engine *conversation.Engine
	Script *screening.Script
	// Model, when set before Reopen, is given to the engine.
	Model conversation.Model
	// Relay, when set before Reopen or BuildEngine, is given to the engine
	// (the Discord adapter, built before it connects).
	Relay conversation.Relayer
	// System is the model's system prompt, rendered with the clinic.
	System string
	// Messages is the clinic's copy (patient notices render from it).
	Messages *clinic.Messages
	// Safety is the shipped risk detector.
	Safety *safety.Detector
	// FAQ is the shipped knowledge base's index (shared by the tests of a
	// binary: read-only once built).
	FAQ *faq.Index
	// cfg is the engine's configuration on the open store.
	cfg conversation.Config
}

// New opens a store in a temporary directory and builds the engine on the
// embedded content. Logs go to t.Log.
func New(t testing.TB) *Kit {
	t.Helper()
	k := &Kit{Path: filepath.Join(t.TempDir(), "intakebot.db"), Key: seal.NewKey()}
	k.Reopen(t)
	return k
}

// content is the shipped content, loaded once per test binary: loading it
// (the FAQ index trains its classifier, the safety reading decodes its
// word clusters) is most of what a test costs, and all of it is read-only
// once built, so tests share it.
type content struct {
	script *screening.Script
	safety *safety.Detector
	msgs   *clinic.Messages
	kb     *faq.KB
	index  *faq.Index
	system string
}

var (
	contentOnce sync.Once
	contentVal  content
	contentErr  error
)

func shippedContent() (content, error) {
	contentOnce.Do(func() { contentVal, contentErr = loadContent() })
	return contentVal, contentErr
}

func loadContent() (content, error) {
	var c content
	fsys := prompts.Embedded()
	var err error
	if c.script, err = screening.Load(fsys, "screening.yaml"); err != nil {
		return c, err
	}
	if c.safety, err = safety.Load(fsys, "safety.yaml"); err != nil {
		return c, err
	}
	cl, err := clinic.LoadClinic(fsys, "clinic.yaml")
	if err != nil {
		return c, err
	}
	if c.msgs, err = clinic.LoadMessages(fsys, "messages.yaml", cl); err != nil {
		return c, err
	}
	if c.kb, err = faq.Load(fsys, "faq", c.msgs.Text); err != nil {
		return c, err
	}
	syn, err := faq.LoadSynonyms(fsys, "faq/synonyms.yaml")
	if err != nil {
		return c, err
	}
	c.index = faq.NewIndex(c.kb, syn)
	src, err := fs.ReadFile(fsys, "system.md")
	if err != nil {
		return c, err
	}
	c.system, err = c.msgs.Text(string(src))
	return c, err
}

// Reopen closes and reopens the store and engine, as a restart would.
func (k *Kit) Reopen(t testing.TB) {
	t.Helper()
	if k.Store != nil {
		k.Store.Close()
	}
	c, err := shippedContent()
	if err != nil {
		t.Fatal(err)
	}
	script, det, msgs := c.script, c.safety, c.msgs
	k.Messages, k.Safety, k.System, k.FAQ = msgs, det, c.system, c.index
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	sl, err := seal.New(k.Key)
	must(err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := sqlite.Open(context.Background(), k.Path, sl, log)
	must(err)
	t.Cleanup(func() { st.Close() })
	k.Store, k.Script = st, script
	k.cfg = conversation.Config{Store: st, Script: script, Safety: det, Messages: msgs, FAQ: c.index, FAQKB: c.kb, Logger: log}
	k.BuildEngine(t)
}

// BuildEngine builds the engine again on the open store, with the current
// Model and Relay: an engine is complete when built and never changed.
func (k *Kit) BuildEngine(t testing.TB) {
	t.Helper()
	cfg := k.cfg
	cfg.Model, cfg.Relay = k.Model, k.Relay
	if ch, ok := k.Model.(conversation.Chooser); ok {
		cfg.Chooser = ch
	}
	if rm, ok := k.Model.(conversation.RiskModel); ok {
		cfg.RiskModel = rm
	}
	eng, err := conversation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	k.Engine = eng
}

// Twin opens a second store and engine on the same database file and key,
// as a second process serving the same patients would.
func (k *Kit) Twin(t testing.TB) *Kit {
	t.Helper()
	tw := &Kit{Path: k.Path, Key: k.Key, Model: k.Model, Relay: k.Relay}
	tw.Reopen(t)
	return tw
}

// EngineOn builds an engine like the kit's on another store (a wrapper of
// the kit's, to hold a call at a chosen point).
func (k *Kit) EngineOn(t testing.TB, st intake.Store) *conversation.Engine {
	t.Helper()
	cfg := k.cfg
	cfg.Store, cfg.Model, cfg.Relay = st, k.Model, k.Relay
	eng, err := conversation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}
