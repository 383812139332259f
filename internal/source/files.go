package source

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// yamlLineRe finds the line number in yaml.v3's syntax errors.
var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// YAMLError turns a yaml.v3 syntax error into an Error at its line.
func YAMLError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Pos: Pos{Line: line, Col: 1}, Msg: m[2]}
	}
	return &Error{File: file, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

// IsYAML reports whether a path names a YAML file.
func IsYAML(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

// WalkYAML calls load for every YAML file under dir in fsys, with the
// file's path as errors should show it (shown in place of dir), and
// collects what load reports.
func WalkYAML(fsys fs.FS, dir, shown string, load func(name string, data []byte) error) error {
	var errs Errors
	err := fs.WalkDir(fsys, dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !IsYAML(path) {
			return nil
		}
		data, err := fs.ReadFile(fsys, path)
		if err != nil {
			return err
		}
		name := filepath.Join(shown, strings.TrimPrefix(strings.TrimPrefix(path, dir), "/"))
		errs.Append(name, load(name, data))
		return nil
	})
	if err != nil {
		errs.Append(shown, err)
	}
	return errs.Err()
}
