package experiments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/chaos-mesh/chaos-mesh/api/genericwebhook"
	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"gopkg.in/yaml.v3"

	"github.com/firebreak-ops/firebreak/internal/source"
)

// faultSpecs maps each supported Chaos Mesh kind to a constructor of its
// object and a pointer to that object's spec, so a fault's spec decodes
// into the real API type and Chaos Mesh's own defaulting and validation
// see the whole object, as its webhook would.
var faultSpecs = map[string]func() (obj, spec any){
	v1alpha1.KindPodChaos: func() (any, any) { o := &v1alpha1.PodChaos{}; return o, &o.Spec },
	v1alpha1.KindNetworkChaos: func() (any, any) {
		o := &v1alpha1.NetworkChaos{}
		return o, &o.Spec
	},
	v1alpha1.KindStressChaos: func() (any, any) { o := &v1alpha1.StressChaos{}; return o, &o.Spec },
	v1alpha1.KindHTTPChaos:   func() (any, any) { o := &v1alpha1.HTTPChaos{}; return o, &o.Spec },
	v1alpha1.KindIOChaos:     func() (any, any) { o := &v1alpha1.IOChaos{}; return o, &o.Spec },
}

// FaultKinds lists the Chaos Mesh kinds an experiment may use, sorted.
func FaultKinds() []string {
	out := make([]string, 0, len(faultSpecs))
	for k := range faultSpecs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// actionEnums are the actions each kind accepts. Chaos Mesh enforces them
// only in its CRD schema, which Firebreak does not load, so they are
// checked here to catch a typo when the file loads.
var actionEnums = map[string][]string{
	v1alpha1.KindPodChaos: {string(v1alpha1.PodKillAction), string(v1alpha1.PodFailureAction), string(v1alpha1.ContainerKillAction)},
	v1alpha1.KindNetworkChaos: {string(v1alpha1.NetemAction), string(v1alpha1.DelayAction), string(v1alpha1.LossAction),
		string(v1alpha1.DuplicateAction), string(v1alpha1.CorruptAction), string(v1alpha1.PartitionAction), string(v1alpha1.BandwidthAction)},
	v1alpha1.KindIOChaos: {"latency", "fault", "attrOverride", "mistake"},
}

// checkAction reports an action the kind does not know.
func checkAction(kind string, spec map[string]any) error {
	allowed, ok := actionEnums[kind]
	if !ok {
		return nil
	}
	action, _ := spec["action"].(string)
	for _, a := range allowed {
		if a == action {
			return nil
		}
	}
	return fmt.Errorf("action must be one of %s, not %q", strings.Join(allowed, ", "), action)
}

// reservedSpecKeys are set by Firebreak from target and duration.
var reservedSpecKeys = map[string]string{
	"selector": "spec.target", "mode": "spec.target.mode", "value": "spec.target.value", "duration": "spec.duration",
}

// DecodeNode implements source.NodeDecoder: the spec is decoded strictly
// into the Chaos Mesh type of kind, with errors at the offending key.
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
	if _, ok := faultSpecs[f.Kind]; !ok {
		errs.Add("", f.Pos.Of("kind"), "spec.fault.kind must be one of %s, not %q", strings.Join(FaultKinds(), ", "), f.Kind)
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
	if _, err := strictSpec(f.Kind, b, "", nil); err != nil {
		errs.Add("", f.posOf(err), "spec.fault.spec: %s", cleanJSONError(err))
	} else if m, ok := source.Plain(raw).(map[string]any); ok {
		if err := checkAction(f.Kind, m); err != nil {
			pos, ok := f.specPos["action"]
			if !ok {
				pos = f.Pos.Of("spec")
			}
			errs.Add("", pos, "spec.fault.spec.%s", err)
		}
	}
	return errs.Err()
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

var (
	unknownFieldRe = regexp.MustCompile(`unknown field "([^"]+)"`)
	structFieldRe  = regexp.MustCompile(`Go struct field [A-Za-z0-9_]+\.([A-Za-z0-9_.]+) of type`)
)

// posOf finds where the key an encoding/json error names was written.
func (f *Fault) posOf(err error) source.Pos {
	msg := err.Error()
	key := ""
	if m := unknownFieldRe.FindStringSubmatch(msg); m != nil {
		key = m[1]
	} else if m := structFieldRe.FindStringSubmatch(msg); m != nil {
		key = m[1]
	}
	if key != "" {
		if p, ok := f.specPos[key]; ok {
			return p
		}
		last := key[strings.LastIndexByte(key, '.')+1:]
		if p, ok := f.specPos["~"+last]; ok {
			return p
		}
	}
	if p, ok := f.Pos["spec"]; ok {
		return p
	}
	return f.Pos[""]
}

func cleanJSONError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if m := structFieldRe.FindStringSubmatchIndex(msg); m != nil {
		// "cannot unmarshal string into Go struct field X.a.b of type int"
		// reads better as "a.b: cannot unmarshal string into int".
		field := msg[m[2]:m[3]]
		head := strings.TrimSuffix(msg[:m[0]], " ")
		typ := strings.TrimPrefix(msg[m[1]:], " ")
		return fmt.Sprintf("%s: %s into %s", field, strings.TrimSuffix(head, " into"), typ)
	}
	return msg
}

// strictSpec decodes a fault spec into its Chaos Mesh type, rejecting
// unknown fields; with fill non-nil, it is applied before Chaos Mesh's own
// defaulting and validation, and the final spec is returned.
func strictSpec(kind string, spec []byte, namespace string, fill func(m map[string]any)) (json.RawMessage, error) {
	mk, ok := faultSpecs[kind]
	if !ok {
		return nil, fmt.Errorf("unknown fault kind %q", kind)
	}
	if fill != nil {
		var m map[string]any
		if err := json.Unmarshal(spec, &m); err != nil {
			return nil, err
		}
		if m == nil {
			m = map[string]any{}
		}
		fill(m)
		var err error
		if spec, err = json.Marshal(m); err != nil {
			return nil, err
		}
	}
	obj, typed := mk()
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.DisallowUnknownFields()
	if err := dec.Decode(typed); err != nil {
		return nil, err
	}
	if fill == nil {
		return spec, nil
	}
	if m, ok := obj.(interface{ SetNamespace(string) }); ok {
		m.SetNamespace(namespace)
	}
	genericwebhook.Default(obj)
	if errs := genericwebhook.Validate(obj); len(errs) > 0 {
		return nil, genericwebhook.Aggregate(errs)
	}
	return json.Marshal(typed)
}

// MarshalJSON writes kind and spec.
func (f Fault) MarshalJSON() ([]byte, error) {
	type plain struct {
		Kind string          `json:"kind"`
		Spec json.RawMessage `json:"spec"`
	}
	spec := f.Spec
	if len(spec) == 0 {
		spec = json.RawMessage("{}")
	}
	return json.Marshal(plain{Kind: f.Kind, Spec: spec})
}
