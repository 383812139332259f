package experiments

import (
	"gopkg.in/yaml.v3"

	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// File is what one YAML file holds.
type File struct {
	Experiments []*plan.Experiment
	GameDays    []*plan.GameDay
	// invalid marks experiments that decoded but failed their checks:
	// they are compiled, so one validate reports their CEL errors too,
	// but never catalogued.
	invalid map[*plan.Experiment]bool
}

// KindOf returns the kind: of every document in data, in order, without
// decoding them, so callers can route a file to the right format.
func KindOf(data []byte) []string {
	var out []string
	_ = source.Documents("", data, func(doc *yaml.Node) {
		if doc.Content[0].Kind == yaml.MappingNode {
			out = append(out, source.KindOf(doc))
		}
	})
	return out
}

// Parse reads every experiment and game day in data, checks each fault's
// spec against its Chaos Mesh type and renders the spec to create. Problems
// are source.Errors naming file, line and column.
func Parse(file string, data []byte) (*File, error) {
	var errs source.Errors
	out := &File{invalid: map[*plan.Experiment]bool{}}
	err := source.Documents(file, data, func(doc *yaml.Node) {
		switch source.KindOf(doc) {
		case plan.KindGameDay:
			g := &plan.GameDay{File: file}
			if err := source.Decode(file, doc, g); err != nil {
				errs.Append(file, err)
				return
			}
			if err := g.Check(); err != nil {
				errs.Append(file, err)
				return
			}
			out.GameDays = append(out.GameDays, g)
		default:
			e := &plan.Experiment{File: file}
			derr := source.Decode(file, doc, e)
			ferr := checkFault(file, &e.Spec.Fault)
			if derr != nil || ferr != nil {
				errs.Append(file, derr)
				errs.Append(file, ferr)
				return
			}
			if err := e.Check(); err != nil {
				errs.Append(file, err)
				out.invalid[e] = true
			} else if err := render(e); err != nil {
				errs.Append(file, err)
				out.invalid[e] = true
			}
			out.Experiments = append(out.Experiments, e)
		}
	})
	if err != nil {
		errs.Append(file, err)
		return nil, errs.Err()
	}
	if len(out.Experiments) == 0 && len(out.GameDays) == 0 && len(errs) == 0 {
		errs.Add(file, source.Pos{Line: 1, Col: 1}, "no experiment or game day in file")
	}
	return out, errs.Err()
}

// Load parses and compiles every experiment and game day in a file.
func Load(file string, data []byte) ([]*plan.Plan, []*plan.GameDay, error) {
	f, err := Parse(file, data)
	var errs source.Errors
	errs.Append(file, err)
	if f == nil {
		return nil, nil, errs.Err()
	}
	var plans []*plan.Plan
	for _, e := range f.Experiments {
		p, err := plan.Compile(e)
		if err != nil {
			errs.Append(file, err)
			continue
		}
		if !f.invalid[e] {
			plans = append(plans, p)
			plan.Remember(e, p)
		}
	}
	return plans, f.GameDays, errs.Err()
}
