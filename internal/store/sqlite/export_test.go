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
	_, err := st.db.Exec(`PRAGMA synchronous=OFF`)
	return err
}

// HoldRead starts a read of the open cases on the read pool and returns
// its rows unread: the connection stays busy until they are closed.
func HoldRead(ctx context.Context, st *Store) (*sql.Rows, error) {
	return st.rs[qDueAlerts].QueryContext(ctx, 1<<62, 1000)
}
