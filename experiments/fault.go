package experiments

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/chaos-mesh/chaos-mesh/api/genericwebhook"
	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"

	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// faultSpecs maps each Chaos Mesh kind plan.FaultKinds names to a
// constructor of its object and a pointer to that object's spec, so a
// fault's spec decodes
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

var (
	unknownFieldRe = regexp.MustCompile(`unknown field "([^"]+)"`)
	structFieldRe  = regexp.MustCompile(`Go struct field [A-Za-z0-9_]+\.([A-Za-z0-9_.]+) of type`)
)

// faultPos finds where the key an encoding/json error names was written.
func faultPos(f *plan.Fault, err error) source.Pos {
	msg := err.Error()
	key := ""
	if m := unknownFieldRe.FindStringSubmatch(msg); m != nil {
		key = m[1]
	} else if m := structFieldRe.FindStringSubmatch(msg); m != nil {
		key = m[1]
	}
	if key != "" {
		if p, ok := f.SpecPos(key); ok {
			return p
		}
		last := key[strings.LastIndexByte(key, '.')+1:]
		if p, ok := f.SpecPos("~" + last); ok {
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

// checkFault checks a decoded fault's spec against its Chaos Mesh type:
// unknown fields, wrong types and an action the kind does not know, each
// at the key that holds it. A fault whose spec did not decode is left
// alone; its errors came from decoding.
func checkFault(file string, f *plan.Fault) error {
	if len(f.Spec) == 0 {
		return nil
	}
	var errs source.Errors
	if _, err := strictSpec(f.Kind, f.Spec, "", nil); err != nil {
		errs.Add(file, faultPos(f, err), "spec.fault.spec: %s", cleanJSONError(err))
	} else if m := map[string]any{}; json.Unmarshal(f.Spec, &m) == nil {
		if err := checkAction(f.Kind, m); err != nil {
			pos, ok := f.SpecPos("action")
			if !ok {
				pos = f.Pos.Of("spec")
			}
			errs.Add(file, pos, "spec.fault.spec.%s", err)
		}
	}
	return errs.Err()
}

// render sets the fault's Rendered spec: the spec with selector, mode,
// value and duration filled in from the experiment, after Chaos Mesh's own
// defaulting and validation in the first target namespace.
func render(e *plan.Experiment) error {
	s := &e.Spec
	namespace := ""
	if len(s.Target.Namespaces) > 0 {
		namespace = s.Target.Namespaces[0]
	}
	spec, err := strictSpec(s.Fault.Kind, s.Fault.Spec, namespace, e.FillSpec)
	if err != nil {
		return &source.Error{File: e.File, Pos: s.Fault.Pos.Of("spec"), Msg: "spec.fault.spec is not valid for Chaos Mesh: " + cleanJSONError(err)}
	}
	s.Fault.Rendered = spec
	return nil
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
