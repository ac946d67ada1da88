package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/intakebot/intakebot/internal/clinic"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/content"
	"github.com/intakebot/intakebot/internal/conversation"
	"github.com/intakebot/intakebot/internal/faq"
	"github.com/intakebot/intakebot/internal/intake"
	"github.com/intakebot/intakebot/internal/llm"
	"github.com/intakebot/intakebot/internal/safety"
	"github.com/intakebot/intakebot/internal/screening"
	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
	"github.com/intakebot/intakebot/prompts"
)

// common holds the flags every command takes.
type common struct {
	data, prompts string
	// args is how many arguments after the flags the command takes; any
	// more is a usage error. anyArgs for a command that takes free text.
	args int
}

// anyArgs is common.args for a command that takes any number of arguments.
const anyArgs = -1

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", "", "data `dir` for the database and key file (env INTAKEBOT_DATA_DIR; default "+config.DefaultDataDir()+")")
	fs.StringVar(&c.prompts, "prompts", "", "content `dir` overriding the embedded prompts/ (env INTAKEBOT_PROMPTS_DIR)")
}

// newFlags returns a command's flag set with the common flags and a usage
// text printed before the flag defaults.
func newFlags(name, usage string, c *common) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// setup parses args and loads the configuration. When ok is false the
// command must return code (help was shown, or a usage or config error).
func (c *common) setup(fs *flag.FlagSet, e env, args []string) (cfg config.Config, code int, ok bool) {
	if code, ok := parse(fs, e, args); !ok {
		return cfg, code, false
	}
	if c.args != anyArgs && fs.NArg() > c.args {
		fmt.Fprintf(e.stderr, "intakebot %s: unexpected argument %q\n\n", fs.Name(), fs.Arg(c.args))
		fs.Usage()
		return cfg, exitUsage, false
	}
	cfg, err := c.loadConfig(e)
	if err != nil {
		return cfg, fail(e, err), false
	}
	return cfg, 0, true
}

// loadConfig reads the environment (and config file) and applies the flags.
func (c *common) loadConfig(e env) (config.Config, error) {
	cfg, err := config.Load(e.getenv)
	if err != nil {
		return cfg, err
	}
	if c.data != "" {
		cfg.DataDir = c.data
	}
	if c.prompts != "" {
		cfg.PromptsDir = c.prompts
	}
	cfg = cfg.WithDefaults()
	return cfg, cfg.Validate()
}

// bundle is the loaded, validated content.
type bundle struct {
	script   *screening.Script
	safety   *safety.Detector
	clinic   *clinic.Clinic
	messages *clinic.Messages
	kb       *faq.KB
	index    *faq.Index
	system   string // the model's system prompt, rendered
}

// loadContent loads every content file and returns all problems at once.
func loadContent(fsys fs.FS) (*bundle, error) {
	var ps content.Problems
	b := &bundle{}
	var err error
	if b.script, err = screening.Load(fsys, "screening.yaml"); err != nil {
		ps = append(ps, content.AsProblems(err)...)
	}
	if b.safety, err = safety.Load(fsys, "safety.yaml"); err != nil {
		ps = append(ps, content.AsProblems(err)...)
	}
	if b.clinic, err = clinic.LoadClinic(fsys, "clinic.yaml"); err != nil {
		ps = append(ps, content.AsProblems(err)...)
	} else if b.messages, err = clinic.LoadMessages(fsys, "messages.yaml", b.clinic); err != nil {
		ps = append(ps, content.AsProblems(err)...)
	}
	if b.messages != nil {
		if b.kb, err = faq.Load(fsys, "faq", b.messages.Text); err != nil {
			ps = append(ps, content.AsProblems(err)...)
		}
		if src, err := fs.ReadFile(fsys, "system.md"); err != nil {
			ps = append(ps, content.Problem{File: "system.md", Msg: fmt.Sprintf("cannot read: %v", err)})
		} else if b.system, err = b.messages.Text(string(src)); err != nil {
			ps = append(ps, content.Problem{File: "system.md", Msg: fmt.Sprintf("does not render: %v", err)})
		}
	}
	syn, err := faq.LoadSynonyms(fsys, "faq/synonyms.yaml")
	if err != nil {
		ps = append(ps, content.AsProblems(err)...)
	}
	if b.kb != nil {
		b.index = faq.NewIndex(b.kb, syn)
	}
	if b.script != nil && b.messages != nil {
		if err := conversation.CheckContent(b.script, b.messages); err != nil {
			ps = append(ps, content.AsProblems(err)...)
		}
	}
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return b, nil
}

// engine builds the conversation engine, with the model when one is
// configured; relay (nil: none) passes patients' messages to staff.
func (b *bundle) engine(cfg config.Config, st intake.Store, log *slog.Logger, relay conversation.Relayer) (*conversation.Engine, error) {
	ec := conversation.Config{Store: st, Script: b.script, Safety: b.safety, Messages: b.messages, FAQ: b.index, FAQKB: b.kb, Logger: log, Relay: relay}
	if cfg.LLMEnabled() {
		m := llm.New(llm.Config{BaseURL: cfg.LLMBaseURL, APIKey: cfg.LLMKey, Model: cfg.LLMModel, Timeout: cfg.LLMTimeout, System: b.system, Logger: log})
		ec.Model, ec.RiskModel, ec.Chooser = m, m, m
	}
	return conversation.New(ec)
}

// live is what a long-running command needs: the content, the store and
// the logger, closed together, and the engine once it is built.
type live struct {
	b   *bundle
	eng *conversation.Engine
	st  *sqlite.Store
	log *slog.Logger
	out io.Closer
}

func (l *live) Close() {
	l.st.Close()
	l.out.Close()
}

// buildEngine builds the engine whole, relay included, before any adapter
// can deliver a turn to it.
func (l *live) buildEngine(cfg config.Config, relay conversation.Relayer) error {
	eng, err := l.b.engine(cfg, l.st, l.log, relay)
	if err != nil {
		return err
	}
	l.eng = eng
	return nil
}

// startEngine opens everything (startStore) and builds the engine with no
// relay (the terminal).
func startEngine(ctx context.Context, e env, cfg config.Config, logFile string, checks ...func(*bundle) error) (*live, error) {
	l, err := startStore(ctx, e, cfg, logFile, checks...)
	if err != nil {
		return nil, err
	}
	if err := l.buildEngine(cfg, nil); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// startStore loads the content, then opens the logger (logFile "" means
// standard error) and the store (creating the key file for a new
// database). The engine is built later (buildEngine), once its relay
// exists.
func startStore(ctx context.Context, e env, cfg config.Config, logFile string, checks ...func(*bundle) error) (*live, error) {
	b, err := loadContent(contentFS(cfg))
	if err != nil {
		return nil, err
	}
	// Checks of the content run before anything is created on disk.
	for _, check := range checks {
		if err := check(b); err != nil {
			return nil, err
		}
	}
	log, out, err := newLogger(cfg, logFile)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, e, cfg, true, log)
	if err != nil {
		out.Close()
		return nil, err
	}
	return &live{b: b, st: st, log: log, out: out}, nil
}

func newLogger(cfg config.Config, defaultFile string) (*slog.Logger, io.Closer, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, nil, fmt.Errorf("log level: %w", err)
	}
	path := cfg.LogFile
	if path == "" {
		path = defaultFile
	}
	var w io.Writer = os.Stderr
	var closer io.Closer = io.NopCloser(nil)
	if path != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("log dir: %w", err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("log file: %w", err)
		}
		w, closer = f, f
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})), closer, nil
}

// openStore opens the database with the data key. With create, a missing key
// file is created (mode 0600), but only for a new database: a new key could not
// open an existing one.
func openStore(ctx context.Context, e env, cfg config.Config, create bool, log *slog.Logger) (*sqlite.Store, error) {
	dbExists := fileExists(cfg.DBPath())
	if !create && !dbExists {
		return nil, fmt.Errorf("no database at %s (start one with: intakebot chat --data %s)", cfg.DBPath(), cfg.DataDir)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := checkPrivateDir(cfg.DataDir); err != nil {
		return nil, err
	}
	var keys [][]byte
	if cfg.DataKey != "" {
		key, err := seal.ParseKey(cfg.DataKey)
		if err != nil {
			return nil, fmt.Errorf("INTAKEBOT_DATA_KEY: %w", err)
		}
		keys = [][]byte{key}
	} else {
		var created bool
		var err error
		keys, created, err = seal.LoadKeys(cfg.KeyFile, create && !dbExists)
		if err != nil {
			if dbExists && !fileExists(cfg.KeyFile) {
				return nil, fmt.Errorf("the database %s exists but its key file %s is missing: restore the key file or set INTAKEBOT_DATA_KEY", cfg.DBPath(), cfg.KeyFile)
			}
			return nil, err
		}
		if created {
			fmt.Fprintf(e.stderr, "Created a new data key at %s (mode 0600). Keep it safe and private: without it, the answers stored in %s cannot be read.\n", cfg.KeyFile, cfg.DataDir)
		}
	}
	sealer, err := seal.New(keys...)
	if err != nil {
		return nil, err
	}
	return sqlite.Open(ctx, cfg.DBPath(), sealer, log)
}

// checkPrivateDir refuses a data directory other users can list, read or
// write: they could read the database's WAL as it is written, or replace
// the files in it.
func checkPrivateDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("the data directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("the data directory %s can be read or written by other users (mode %v); run: chmod 700 %s", dir, fi.Mode().Perm(), dir)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

func contentFS(cfg config.Config) fs.FS { return prompts.Open(cfg.PromptsDir) }

// fail prints an error the way every command does and returns exitFailure.
func fail(e env, err error) int {
	fmt.Fprintf(e.stderr, "intakebot: %v\n", err)
	return exitFailure
}
