package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
)

// The durability contract.
//
// Every commit is durable against the process crashing as soon as it
// returns: it is in the write-ahead log (WAL), which the operating system
// holds. Against a power cut or an operating-system crash there are two
// kinds of write:
//
//   - synced: on disk before the method returns. The commit runs with
//     synchronous=FULL, which syncs the WAL, and with it every commit made
//     before it. These are the writes nobody may lose: anything that opens
//     a case or merges into one (and so may raise its priority), ends a
//     screening with a case or discards its answers, records a staff
//     action or a staff note, writes an audit row on its own, pauses a
//     screening for crisis language, erases a patient (/forget-me) or
//     purges, rekeys or migrates the database.
//   - lazy: committed with synchronous=NORMAL (no fsync), and on disk
//     within syncBound: the background checkpointer syncs the WAL file
//     (fdatasync) every syncEvery when lazy commits were made since its
//     last sync, whatever readers hold (a checkpoint would sync only what
//     it can copy), and Close syncs it once more. These are the patient's
//     ordinary turns (a session started, an answer saved, a screening
//     ended without a case, a pause the patient asked for, a message
//     relayed to staff and its audit row),
//     the new-patient row, the event dedupe rows, and the dispatcher's
//     bookkeeping (deliveries, retries, alert plans and queued pages).
//     A power cut may undo the last syncBound of them; the WAL keeps
//     commits in order, so what survives is always a prefix, and a case
//     that survives has every answer before it. The dispatcher redoes what
//     it loses (a card may be posted twice, a page sent again; nothing is
//     dropped), and a patient whose last answer was undone finds that
//     question waiting again.
//
// Why: one fsync costs 1-11 ms on the disks this runs on (p99 ~11 ms on
// the shared test machine), which alone is more than an answer turn's
// budget. Cases and staff actions are rare; answers are most of the writes.
//
// TestWritesAreSyncedAsDocumented checks which methods are synced.

// durability says when a write transaction reaches the disk.
type durability int

const (
	// lazy: synced by the checkpointer within syncBound.
	lazy durability = iota
	// synced: synced before the commit returns.
	synced
)

// syncBound is how long a lazy commit may stay only in the operating
// system's cache: two sync rounds (a commit made just after one round
// read the count waits for the next).
const syncBound = 2 * syncEvery

// begin starts a write transaction on the write connection with
// durability d. The caller must call done (deferred): it rolls back what
// was not committed and, for a synced transaction, puts the connection
// back to lazy commits. Commit through s.commit.
//
// A synced transaction holds the one write connection (database/sql's
// Conn) from the pragma to the reset, so no other write can slip in
// between and run at the wrong level. Nothing inside it may use s.db
// directly (it would wait for the connection the transaction holds).
func (s *Store) begin(ctx context.Context, d durability) (*sql.Tx, func(), error) {
	if d == lazy || s.bulk {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, nil, err
		}
		return tx, func() { tx.Rollback() }, nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	// SQLite refuses to change the level inside a transaction: it is set
	// before BEGIN and reset after COMMIT.
	if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("synced write: %w", err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		s.relax(conn)
		return nil, nil, err
	}
	return tx, func() {
		tx.Rollback()
		s.relax(conn)
	}, nil
}

// relax puts the write connection back to lazy commits and releases it.
func (s *Store) relax(conn *sql.Conn) {
	if _, err := conn.ExecContext(context.Background(), `PRAGMA synchronous = NORMAL`); err != nil {
		// Left at FULL, later writes are synced too: slower, never less
		// safe.
		s.log.Warn("write connection left on synced commits", slog.Any("err", err))
	}
	conn.Close()
}

// commit commits tx; a test hook, when set, sees the transaction's
// synchronous level first.
func (s *Store) commit(tx *sql.Tx) error {
	if s.onCommit != nil {
		var level int
		if err := tx.QueryRow(`PRAGMA synchronous`).Scan(&level); err != nil {
			return fmt.Errorf("read synchronous: %w", err)
		}
		s.onCommit(level)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	// Counted for the checkpointer (a synced commit is counted too: it
	// costs one needless data sync at most, and keeps this simple).
	s.commits.Add(1)
	return nil
}

// write runs change in one write transaction of durability d and commits
// it.
func (s *Store) write(ctx context.Context, d durability, change func(tx *sql.Tx) error) error {
	tx, done, err := s.begin(ctx, d)
	if err != nil {
		return err
	}
	defer done()
	if err := change(tx); err != nil {
		return err
	}
	return s.commit(tx)
}

// syncWAL syncs the write-ahead log file's data to disk (a sync flushes
// the file, whichever descriptor asks). Data only (fdatasync where there
// is one): the WAL's frames carry their own checksums, and its size is
// synced when it changes. SQLite takes no locks on the -wal file, so
// opening and closing it here releases none of SQLite's.
func (s *Store) syncWAL() error {
	f, err := os.OpenFile(s.path+"-wal", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	err = datasync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync write-ahead log: %w", err)
	}
	return nil
}

// actionRelay is the audit action of a patient's message passed to staff
// (the engine's relay): an ordinary turn, committed lazily.
const actionRelay = "case.relay"
