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

// OnCheckpoint calls f after each background checkpoint of st with the
// WAL's size and the frames copied (in frames), and whether the
// checkpointer synced the WAL file itself.
func OnCheckpoint(st *Store, f func(logPages, done int, walSynced bool)) {
	st.ckptMu.Lock()
	defer st.ckptMu.Unlock()
	st.onCheckpoint = f
}

// HoldRead starts a read of the open cases on the read pool and returns
// its rows unread: the connection stays busy until they are closed.
func HoldRead(ctx context.Context, st *Store) (*sql.Rows, error) {
	return st.rs[qDueAlerts].QueryContext(ctx, 1<<62, 1000)
}
