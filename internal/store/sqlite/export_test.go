package sqlite

import (
	"context"
	"database/sql"
)

// BulkLoad turns off fsync on st's write connection. Only the scale
// benchmark uses it, to build its populations (hundreds of thousands of
// transactions) in minutes; the benchmark then reopens the file with the
// normal settings before it measures anything.
func BulkLoad(st *Store) error {
	st.bulk = true
	_, err := st.db.Exec(`PRAGMA synchronous=OFF`)
	return err
}

// OnCommit calls f with the synchronous level (1 NORMAL, 2 FULL) of each
// write transaction of st, inside it, just before it commits.
func OnCommit(st *Store, f func(level int)) { st.onCommit = f }

// OnSync calls f after each round of st's checkpointer with the number of
// commits its WAL syncs have covered so far.
func OnSync(st *Store, f func(covered uint64)) {
	st.ckptMu.Lock()
	defer st.ckptMu.Unlock()
	st.onSync = f
}

// Commits returns the number of commits st has made.
func Commits(st *Store) uint64 { return st.commits.Load() }

// HoldRead starts a read of the open cases on the read pool and returns
// its rows unread: the connection stays busy until they are closed.
func HoldRead(ctx context.Context, st *Store) (*sql.Rows, error) {
	return st.rs[qDueAlerts].QueryContext(ctx, 1<<62, 1000)
}
