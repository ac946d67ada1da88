// Package prompts embeds the clinic-editable content: clinic.yaml, faq/,
// screening.yaml, screening_tests/, safety.yaml and messages.yaml. A clinic can
// override all of it with a directory (--prompts DIR).
//
// Only cmd/intakebot (and tests) import this package.
package prompts

import (
	"embed"
	"io/fs"
	"os"
)

//go:embed *.yaml *.md screening_tests faq
var files embed.FS

// Embedded returns the content built into the binary.
func Embedded() fs.FS { return files }

// Open returns the content in dir, or the embedded content when dir is "".
func Open(dir string) fs.FS {
	if dir == "" {
		return files
	}
	return os.DirFS(dir)
}
