// Package content decodes the clinic-editable YAML files under prompts/ and
// reports every problem as file:line and a reason, so that a broken file is
// refused at start (or by `intakebot check`) rather than in front of a patient.
//
// It imports only the standard library and the YAML parser.
package content

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Problem is one thing wrong with a content file.
type Problem struct {
	File string
	Line int // 0 when unknown
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems is a list of problems; as an error it prints one per line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Sorted returns the problems ordered by file and line.
func (ps Problems) Sorted() Problems {
	out := append(Problems(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

// Err returns ps sorted as an error, or nil when empty.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps.Sorted()
}

// AsProblems flattens err into problems: a Problems error is returned as is,
// anything else becomes one problem without a line.
func AsProblems(err error) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	var p Problem
	if errors.As(err, &p) {
		return Problems{p}
	}
	return Problems{{Msg: err.Error()}}
}

func (p Problem) Error() string { return p.String() }

// Doc is one parsed YAML file; it maps YAML paths to line numbers.
type Doc struct {
	Name string
	Src  []byte
	file *ast.File
}

// Line returns the line of the node at path (goccy/go-yaml path syntax, e.g.
// "$.questions[3].when"), walking up to the nearest parent that exists; 0 when
// nothing matches.
func (d *Doc) Line(path string) int {
	for p := path; p != "" && p != "$"; p = parentPath(p) {
		yp, err := pathString(p)
		if err != nil {
			continue
		}
		n, err := yp.FilterFile(d.file)
		if err != nil || n == nil {
			continue
		}
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			return tk.Position.Line
		}
	}
	return 0
}

// pathString is yaml.PathString, which panics on some keys ("0[0") that a
// file handed in may hold.
func pathString(p string) (yp *yaml.Path, err error) {
	defer func() {
		if r := recover(); r != nil {
			yp, err = nil, fmt.Errorf("path %q: %v", p, r)
		}
	}()
	return yaml.PathString(p)
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// Problem returns a problem located at path.
func (d *Doc) Problem(path, format string, args ...any) Problem {
	return Problem{File: d.Name, Line: d.Line(path), Msg: fmt.Sprintf(format, args...)}
}

// ReadFile reads name from fsys and decodes it strictly into v: unknown keys,
// duplicate keys and type mismatches are problems with their line.
func ReadFile(fsys fs.FS, name string, v any) (*Doc, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, Problems{{File: name, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	return Decode(name, src, v)
}

// Decode decodes src (named name in messages) strictly into v.
func Decode(name string, src []byte, v any) (*Doc, error) {
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, Problems{yamlProblem(name, err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(src), yaml.DisallowUnknownField())
	if err := dec.Decode(v); err != nil {
		return nil, Problems{yamlProblem(name, err)}
	}
	return &Doc{Name: name, Src: src, file: f}, nil
}

type tokenError interface {
	GetToken() *token.Token
	GetMessage() string
}

func yamlProblem(name string, err error) Problem {
	var te tokenError
	if errors.As(err, &te) {
		line := 0
		if tk := te.GetToken(); tk != nil && tk.Position != nil {
			line = tk.Position.Line
		}
		return Problem{File: name, Line: line, Msg: te.GetMessage()}
	}
	return Problem{File: name, Msg: err.Error()}
}

// Limits bound what DecodeUntrusted accepts from a file a person hands
// in (an answers file), which, unlike the clinic's content, may come from
// anywhere.
type Limits struct {
	MaxBytes int // the file's size
	// MaxDepth bounds the nesting of flow mappings and sequences ({ and
	// [, as in JSON); block nesting is bounded by MaxBytes, as each level
	// costs a line's indentation.
	MaxDepth int
}

// DecodeUntrusted decodes src like Decode, after refusing a file over
// l.MaxBytes, any anchor or alias (nested aliases expand exponentially: a
// few hundred bytes can fill memory) and nesting deeper than l.MaxDepth.
// A parser failure of any kind is a problem, never a crash.
func DecodeUntrusted(name string, src []byte, v any, l Limits) (doc *Doc, err error) {
	if len(src) > l.MaxBytes {
		return nil, Problems{{File: name, Msg: fmt.Sprintf("the file is %d bytes; the limit is %d", len(src), l.MaxBytes)}}
	}
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, Problems{{File: name, Msg: fmt.Sprintf("cannot be read as YAML or JSON (%v)", r)}}
		}
	}()
	depth, maxDepth := 0, 0
	for _, tk := range lexer.Tokenize(string(src)) {
		line := 0
		if tk.Position != nil {
			line = tk.Position.Line
		}
		switch tk.Type {
		case token.AnchorType, token.AliasType:
			return nil, Problems{{File: name, Line: line, Msg: "anchors and aliases (&name, *name) are not accepted here: write each answer out"}}
		case token.SequenceStartType, token.MappingStartType:
			depth++
		case token.SequenceEndType, token.MappingEndType:
			depth--
		}
		maxDepth = max(maxDepth, depth)
		if maxDepth > l.MaxDepth {
			return nil, Problems{{File: name, Line: line, Msg: fmt.Sprintf("nested more than %d levels deep", l.MaxDepth)}}
		}
	}
	return Decode(name, src, v)
}
