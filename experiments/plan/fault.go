package plan

import (
	"encoding/json"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/firebreak-ops/firebreak/internal/source"
)

// faultKinds are the Chaos Mesh kinds an experiment may use, sorted; the
// experiments package holds their API types.
var faultKinds = []string{"HTTPChaos", "IOChaos", "NetworkChaos", "PodChaos", "StressChaos"}

// FaultKinds lists the Chaos Mesh kinds an experiment may use, sorted.
func FaultKinds() []string { return append([]string(nil), faultKinds...) }

// reservedSpecKeys are set by Firebreak from target and duration.
var reservedSpecKeys = map[string]string{
	"selector": "spec.target", "mode": "spec.target.mode", "value": "spec.target.value", "duration": "spec.duration",
}

// DecodeNode implements source.NodeDecoder: kind and spec are read with
// positions, and the spec kept as JSON. Checking the spec against the
// Chaos Mesh type of kind is the experiments package's part.
func (f *Fault) DecodeNode(n *yaml.Node) error {
	var errs source.Errors
	if n.Kind != yaml.MappingNode {
		errs.Add("", source.PosOf(n), "spec.fault must be a mapping with kind and spec")
		return errs
	}
	f.Pos = source.Positions{"": source.PosOf(n)}
	var specNode *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f.Pos[k.Value] = source.PosOf(v)
		switch k.Value {
		case "kind":
			f.Kind = v.Value
		case "spec":
			specNode = v
		default:
			errs.Add("", source.PosOf(k), "unknown field %q in spec.fault (known fields: kind, spec)", k.Value)
		}
	}
	known := false
	for _, k := range faultKinds {
		known = known || k == f.Kind
	}
	if !known {
		errs.Add("", f.Pos.Of("kind"), "spec.fault.kind must be one of %s, not %q", strings.Join(faultKinds, ", "), f.Kind)
		return errs
	}
	if specNode == nil {
		errs.Add("", f.Pos.Of(""), "spec.fault.spec is required")
		return errs
	}
	if specNode.Kind != yaml.MappingNode {
		errs.Add("", source.PosOf(specNode), "spec.fault.spec must be a mapping")
		return errs
	}
	f.specPos = map[string]source.Pos{"": source.PosOf(specNode)}
	collectPositions(specNode, "", f.specPos)
	for i := 0; i+1 < len(specNode.Content); i += 2 {
		k := specNode.Content[i]
		if from, ok := reservedSpecKeys[k.Value]; ok {
			errs.Add("", source.PosOf(k), "spec.fault.spec.%s is set by Firebreak from %s; remove it here", k.Value, from)
		}
	}
	var raw any
	if err := specNode.Decode(&raw); err != nil {
		errs.Add("", source.PosOf(specNode), "spec.fault.spec: %v", err)
		return errs
	}
	b, err := json.Marshal(source.Plain(raw))
	if err != nil {
		errs.Add("", source.PosOf(specNode), "spec.fault.spec: %v", err)
		return errs
	}
	f.Spec = b
	return errs.Err()
}

// SpecPos returns where a key of the fault's spec was written: a dotted
// path such as delay.latency, or "~" and a bare key for the first key of
// that name at any depth.
func (f *Fault) SpecPos(key string) (source.Pos, bool) {
	p, ok := f.specPos[key]
	return p, ok
}

func collectPositions(n *yaml.Node, prefix string, out map[string]source.Pos) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			key := k.Value
			if prefix != "" {
				key = prefix + "." + k.Value
			}
			if _, seen := out[key]; !seen {
				out[key] = source.PosOf(k)
			}
			// Also index by the bare key for errors that name only it.
			if _, seen := out["~"+k.Value]; !seen {
				out["~"+k.Value] = source.PosOf(k)
			}
			collectPositions(v, key, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			collectPositions(c, prefix, out)
		}
	}
}

// MarshalJSON writes kind, spec and, once rendered, the rendered spec.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain struct {
		Kind     string          `json:"kind"`
		Spec     json.RawMessage `json:"spec"`
		Rendered json.RawMessage `json:"rendered,omitempty"`
	}
	spec := f.Spec
	if len(spec) == 0 {
		spec = json.RawMessage("{}")
	}
	return json.Marshal(plain{Kind: f.Kind, Spec: spec, Rendered: f.Rendered})
}
