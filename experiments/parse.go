package experiments

import (
	"bytes"
	"errors"
	"io"
	"regexp"

	"gopkg.in/yaml.v3"

	"github.com/firebreak-ops/firebreak/internal/source"
)

var (
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	nameRe  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,45}[a-z0-9])?$`)
)

// File is what one YAML file holds.
type File struct {
	Experiments []*Experiment
	GameDays    []*GameDay
}

// KindOf returns the kind: of every document in data, in order, without
// decoding them, so callers can route a file to the right format.
func KindOf(data []byte) []string {
	var out []string
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return out
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		m := doc.Content[0]
		kind := ""
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "kind" {
				kind = m.Content[i+1].Value
			}
		}
		out = append(out, kind)
	}
}

// Parse reads every experiment and game day in data. Problems are
// source.Errors naming file, line and column.
func Parse(file string, data []byte) (*File, error) {
	var errs source.Errors
	out := &File{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, source.YAMLError(file, err))
			return nil, errs.Err()
		}
		if len(doc.Content) == 0 {
			continue
		}
		switch kindOf(doc.Content[0]) {
		case KindGameDay:
			g := &GameDay{File: file}
			if err := source.Decode(file, &doc, g); err != nil {
				errs.Append(file, err)
				continue
			}
			if err := g.check(); err != nil {
				errs.Append(file, err)
				continue
			}
			out.GameDays = append(out.GameDays, g)
		default:
			e := &Experiment{File: file}
			if err := source.Decode(file, &doc, e); err != nil {
				errs.Append(file, err)
				continue
			}
			if err := e.check(); err != nil {
				errs.Append(file, err)
				e.invalid = true
			}
			out.Experiments = append(out.Experiments, e)
		}
	}
	if len(out.Experiments) == 0 && len(out.GameDays) == 0 && len(errs) == 0 {
		errs.Add(file, source.Pos{Line: 1, Col: 1}, "no experiment or game day in file")
	}
	return out, errs.Err()
}

func kindOf(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "kind" {
			return n.Content[i+1].Value
		}
	}
	return ""
}
