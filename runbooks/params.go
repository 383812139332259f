package runbooks

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/internal/source"
)

// ParamError is a bad run input, naming the param.
type ParamError struct {
	Param string
	Msg   string
}

// Error names the param and the problem.
func (e *ParamError) Error() string {
	if e.Param == "" {
		return e.Msg
	}
	return fmt.Sprintf("params.%s: %s", e.Param, e.Msg)
}

// ResolveParams checks run inputs against the declared params and returns
// them typed and complete: defaults filled in, unset optional params set to
// their type's zero value. Values may be JSON values or text (as the CLI and
// Slack send them). Durations come back as text, so the result survives
// JSON.
func (r *Runbook) ResolveParams(in map[string]any) (map[string]any, error) {
	declared := map[string]*Param{}
	names := make([]string, 0, len(r.Spec.Params))
	for i := range r.Spec.Params {
		p := &r.Spec.Params[i]
		declared[p.Name] = p
		names = append(names, p.Name)
	}
	var unknown []string
	for k := range in {
		if declared[k] == nil {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := "it takes none"
		if len(names) > 0 {
			known = "known: " + strings.Join(names, ", ")
		}
		return nil, &ParamError{Param: unknown[0], Msg: fmt.Sprintf("runbook %s has no such param (%s)", r.Name(), known)}
	}
	out := make(map[string]any, len(declared))
	for _, p := range r.Spec.Params {
		v, given := in[p.Name]
		if !given || v == nil {
			switch {
			case p.Default != nil:
				out[p.Name] = p.Default
			case p.Required:
				return nil, &ParamError{Param: p.Name, Msg: "is required"}
			default:
				out[p.Name] = zero(p.Type)
			}
			continue
		}
		cv, err := coerce(p.Type, v)
		if err != nil {
			return nil, &ParamError{Param: p.Name, Msg: err.Error()}
		}
		out[p.Name] = cv
	}
	return out, nil
}

func zero(t ParamType) any {
	switch t {
	case TypeInt:
		return int64(0)
	case TypeBool:
		return false
	case TypeDuration:
		return "0s"
	case TypeList:
		return []any{}
	case TypeMap:
		return map[string]any{}
	}
	return ""
}

// coerce converts a JSON or text value to a param type.
func coerce(t ParamType, v any) (any, error) {
	switch t {
	case TypeString:
		switch x := v.(type) {
		case string:
			return x, nil
		case int64, float64, bool, json.Number:
			return fmt.Sprint(x), nil
		}
	case TypeInt:
		if i, ok := toInt(v); ok {
			return i, nil
		}
		return nil, fmt.Errorf("must be a whole number, not %s", show(v))
	case TypeBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(x))
			if err == nil {
				return b, nil
			}
		}
		return nil, fmt.Errorf("must be true or false, not %s", show(v))
	case TypeDuration:
		if s, ok := v.(string); ok {
			d, err := source.ParseDuration(s)
			if err != nil {
				return nil, err
			}
			return d.String(), nil
		}
		return nil, fmt.Errorf("must be a duration such as 15m, not %s", show(v))
	case TypeList:
		switch x := v.(type) {
		case []any:
			return normalizeJSON(source.Plain(x)), nil
		case []string:
			out := make([]any, len(x))
			for i, s := range x {
				out[i] = s
			}
			return out, nil
		case string:
			s := strings.TrimSpace(x)
			if strings.HasPrefix(s, "[") {
				var l []any
				if err := json.Unmarshal([]byte(s), &l); err != nil {
					return nil, fmt.Errorf("is not a JSON list: %v", err)
				}
				return normalizeJSON(l), nil
			}
			out := []any{}
			for _, part := range strings.Split(s, ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
			return out, nil
		}
		return nil, fmt.Errorf("must be a list, not %s", show(v))
	case TypeMap:
		switch x := v.(type) {
		case map[string]any:
			return normalizeJSON(source.Plain(x)), nil
		case string:
			var m map[string]any
			if err := json.Unmarshal([]byte(x), &m); err != nil {
				return nil, fmt.Errorf("must be a JSON object, not %s", show(v))
			}
			return normalizeJSON(m), nil
		}
		return nil, fmt.Errorf("must be a mapping, not %s", show(v))
	}
	return nil, fmt.Errorf("must be a %s, not %s", t, show(v))
}

// toInt converts JSON numbers and decimal text to int64.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return i, err == nil
	}
	return 0, false
}

func show(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

// normalizeJSON turns whole float64 numbers from JSON into int64, so CEL
// sees 200, not 200.0, and int arithmetic works.
func normalizeJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		//workflowcheck:ignore each entry is rewritten in place; order does not matter
		for k, e := range x {
			x[k] = normalizeJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeJSON(e)
		}
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// NormalizeJSON is normalizeJSON for other packages: values that went
// through JSON (workflow payloads, activity outputs) get int64 back.
func NormalizeJSON(v any) any { return normalizeJSON(v) }

// CELParams converts resolved params into the values CEL expressions see:
// durations as time.Duration, numbers as int64.
func (r *Runbook) CELParams(params map[string]any) map[string]any {
	out := make(map[string]any, len(r.Spec.Params))
	for _, p := range r.Spec.Params {
		v, ok := params[p.Name]
		if !ok || v == nil {
			v = zero(p.Type)
		}
		switch p.Type {
		case TypeDuration:
			if s, ok := v.(string); ok {
				d, _ := source.ParseDuration(s)
				v = time.Duration(d)
			}
		case TypeInt:
			if i, ok := toInt(v); ok {
				v = i
			}
		default:
			v = normalizeJSON(v)
		}
		out[p.Name] = v
	}
	return out
}
