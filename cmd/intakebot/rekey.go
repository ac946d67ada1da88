package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/intakebot/intakebot/internal/seal"
	"github.com/intakebot/intakebot/internal/store/sqlite"
)

func runRekey(ctx context.Context, e env, args []string) int {
	var c common
	fs := newFlags("rekey", "Usage: intakebot rekey [--batch N]\n\n"+
		"Rotate the data key: add a new key to the key file, seal every value again with it in batches, then retire the old\n"+
		"key from the file. Stop `run` first (it holds the old key only). Killed or crashed part way, run it again: it goes on\n"+
		"where it stopped, and until it finishes the key file holds both keys, so every value opens.", &c)
	batch := fs.Int("batch", 500, "values sealed again per transaction")
	cfg, code, ok := c.setup(fs, e, args)
	if !ok {
		return code
	}
	if fs.NArg() > 0 || *batch < 1 {
		fs.Usage()
		return exitUsage
	}
	if cfg.DataKey != "" {
		return fail(e, errors.New("rekey rotates the key file, and INTAKEBOT_DATA_KEY is set: put the key in a key file (INTAKEBOT_KEY_FILE) and unset INTAKEBOT_DATA_KEY, or rotate it by hand"))
	}
	if !fileExists(cfg.DBPath()) {
		return fail(e, fmt.Errorf("no database at %s", cfg.DBPath()))
	}
	keys, _, err := seal.LoadKeys(cfg.KeyFile, false)
	if err != nil {
		return fail(e, err)
	}
	if len(keys) == 1 {
		// The new key is on disk, first, before anything is sealed with it.
		keys = [][]byte{seal.NewKey(), keys[0]}
		if err := seal.WriteKeys(cfg.KeyFile, keys); err != nil {
			return fail(e, err)
		}
		fmt.Fprintf(e.stdout, "New data key %s added to %s; the old key %s stays until every value is sealed again.\n",
			seal.KeyID(keys[0]), cfg.KeyFile, seal.KeyID(keys[1]))
	} else {
		fmt.Fprintf(e.stdout, "Going on with the rotation to key %s in %s.\n", seal.KeyID(keys[0]), cfg.KeyFile)
	}
	log, out, err := newLogger(cfg, "")
	if err != nil {
		return fail(e, err)
	}
	defer out.Close()
	if err := checkPrivateDir(cfg.DataDir); err != nil {
		return fail(e, err)
	}
	sealer, err := seal.New(keys...)
	if err != nil {
		return fail(e, err)
	}
	st, err := sqlite.Open(ctx, cfg.DBPath(), sealer, log)
	if err != nil {
		return fail(e, err)
	}
	defer st.Close()
	total := 0
	for {
		n, err := st.RekeyBatch(ctx, *batch)
		if err != nil {
			return fail(e, err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if left, err := st.Stale(ctx); err != nil {
		return fail(e, err)
	} else if left > 0 {
		return fail(e, fmt.Errorf("%d values are still sealed with an older key", left))
	}
	if err := st.Checkpoint(ctx); err != nil {
		return fail(e, err)
	}
	if err := seal.WriteKeys(cfg.KeyFile, keys[:1]); err != nil {
		return fail(e, err)
	}
	fmt.Fprintf(e.stdout, "Sealed %d values again. Every value is sealed with key %s; the older keys are retired from %s.\n"+
		"Backups made before this need the old key: keep it with them, or make a new backup now.\n", total, seal.KeyID(keys[0]), cfg.KeyFile)
	return exitOK
}
