//go:build !linux

package sqlite

import "os"

// datasync flushes f to disk (fsync: no portable data-only sync).
func datasync(f *os.File) error { return f.Sync() }
