package sqlite

// BulkLoad turns off fsync on st's write connection. Only the scale
// benchmark uses it, to build its populations (hundreds of thousands of
// transactions) in minutes; the benchmark then reopens the file with the
// normal settings before it measures anything.
func BulkLoad(st *Store) error {
	_, err := st.db.Exec(`PRAGMA synchronous=OFF`)
	return err
}
