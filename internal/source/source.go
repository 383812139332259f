// Package source holds what Firebreak's YAML formats share: positions,
// error lists printed as path:line:col, and a strict decoder that rejects
// unknown fields and records where every field was written.
package source

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Pos is a 1-based line and column in a source file.
type Pos struct {
	Line int `json:"line,omitempty"`
	Col  int `json:"col,omitempty"`
}

// IsValid reports whether the position points somewhere.
func (p Pos) IsValid() bool { return p.Line > 0 }

// PosOf returns the position of a YAML node.
func PosOf(n *yaml.Node) Pos {
	if n == nil {
		return Pos{}
	}
	return Pos{Line: n.Line, Col: n.Column}
}

// Error is one problem found in a file.
type Error struct {
	File string
	Pos  Pos
	Msg  string
}

// Error formats the problem as path:line:col: message.
func (e *Error) Error() string {
	switch {
	case e.File == "" && !e.Pos.IsValid():
		return e.Msg
	case !e.Pos.IsValid():
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.File == "":
		return fmt.Sprintf("%d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Pos.Line, e.Pos.Col, e.Msg)
}

// Errors collects the problems of one or more files.
type Errors []*Error

// Add appends a problem at pos.
func (l *Errors) Add(file string, pos Pos, format string, args ...any) {
	*l = append(*l, &Error{File: file, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// Append adds every problem in err: an Errors, an *Error or any other error.
func (l *Errors) Append(file string, err error) {
	switch e := err.(type) {
	case nil:
	case Errors:
		*l = append(*l, e...)
	case *Error:
		*l = append(*l, e)
	default:
		*l = append(*l, &Error{File: file, Msg: err.Error()})
	}
}

// Error prints one problem per line, in file and position order.
func (l Errors) Error() string {
	l.Sort()
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the problems by file, line and column.
func (l Errors) Sort() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Col < b.Pos.Col
	})
}

// Err returns nil for an empty list, else the list itself.
func (l Errors) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}
