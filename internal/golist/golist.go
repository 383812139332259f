// Package golist reads what `go list` says about packages, for the tests
// that keep the layout honest: workflows link no clients, wire types link
// no workflow code, renderers do no I/O.
package golist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// Module is the project's module path.
const Module = "github.com/firebreak-ops/firebreak"

// Package is one package `go list` reports.
type Package struct {
	ImportPath string
	Imports    []string
}

// List runs `go list` in dir for the patterns (with their dependencies
// when deps is set) and returns the packages; it is an error when there
// are none.
func List(dir string, deps bool, patterns ...string) ([]Package, error) {
	args := []string{"list", "-json=ImportPath,Imports"}
	if deps {
		args = append(args, "-deps")
	}
	cmd := exec.Command("go", append(args, patterns...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p Package
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list %s reported no packages", strings.Join(patterns, " "))
	}
	return pkgs, nil
}

// Under reports whether path is pkg or a package below it.
func Under(path, pkg string) bool {
	return path == pkg || strings.HasPrefix(path, pkg+"/")
}
