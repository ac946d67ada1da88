package sqlite

import (
	"os"
	"syscall"
)

// datasync flushes f's data, and its metadata only where needed to read
// the data back (its size), without a journal commit for its times.
func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
