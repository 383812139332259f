package runbooks

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/source"
)

var (
	// identRe is what CEL accepts after a dot: step and param names must
	// match it so expressions can say steps.check_health.output.
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// nameRe is what a runbook name may look like (it becomes part of
	// workflow IDs and URLs).
	nameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Parse reads every runbook document in data. Problems are returned as
// source.Errors naming file, line and column; nothing is compiled yet.
func Parse(file string, data []byte) ([]*Runbook, error) {
	var errs source.Errors
	var out []*Runbook
	err := source.Documents(file, data, func(doc *yaml.Node) {
		rb := &Runbook{File: file}
		if err := source.Decode(file, doc, rb); err != nil {
			errs.Append(file, err)
			return
		}
		if err := rb.check(); err != nil {
			errs.Append(file, err)
			rb.invalid = true
		}
		out = append(out, rb)
	})
	if err != nil {
		errs.Append(file, err)
		return nil, errs.Err()
	}
	if len(out) == 0 && len(errs) == 0 {
		errs.Add(file, source.Pos{Line: 1, Col: 1}, "no runbook in file")
	}
	return out, errs.Err()
}

// check validates the structure of a decoded runbook: everything that needs
// no CEL.
func (r *Runbook) check() error {
	var errs source.Errors
	add := func(pos source.Pos, format string, args ...any) { errs.Add(r.File, pos, format, args...) }
	if r.APIVersion != APIVersion {
		add(r.Pos.Of("apiVersion"), "apiVersion must be %q, not %q", APIVersion, r.APIVersion)
	}
	if r.Kind != Kind {
		add(r.Pos.Of("kind"), "kind must be %q, not %q", Kind, r.Kind)
	}
	switch {
	case r.Metadata.Name == "":
		add(r.Pos.Of("metadata"), "metadata.name is required")
	case !nameRe.MatchString(r.Metadata.Name):
		add(r.Metadata.Pos.Of("name"), "metadata.name %q must be lower-case letters, digits and dashes (at most 63)", r.Metadata.Name)
	}
	seenParam := map[string]bool{}
	for i := range r.Spec.Params {
		p := &r.Spec.Params[i]
		switch {
		case p.Name == "":
			add(p.Pos.Of(""), "param needs a name")
		case !identRe.MatchString(p.Name):
			add(p.Pos.Of("name"), "param name %q must be letters, digits and _ so expressions can use params.%s", p.Name, strings.ReplaceAll(p.Name, "-", "_"))
		case seenParam[p.Name]:
			add(p.Pos.Of("name"), "duplicate param %q", p.Name)
		}
		seenParam[p.Name] = true
		switch p.Type {
		case TypeString, TypeInt, TypeBool, TypeDuration, TypeList, TypeMap:
		case "":
			p.Type = TypeString
		default:
			add(p.Pos.Of("type"), "param %q: type must be one of string, int, bool, duration, list, map, not %q", p.Name, p.Type)
			continue
		}
		if p.Default != nil {
			v, err := coerce(p.Type, p.Default)
			if err != nil {
				add(p.Pos.Of("default"), "param %q: default %v", p.Name, err)
			} else {
				p.Default = v
			}
			if p.Required {
				add(p.Pos.Of("required"), "param %q is required, so its default would never be used", p.Name)
			}
		}
	}
	if len(r.Spec.Steps) == 0 {
		add(r.Pos.Of("spec"), "spec.steps must list at least one step")
	}
	seen := map[string]string{}
	forward := map[string]bool{}
	for i := range r.Spec.Steps {
		s := &r.Spec.Steps[i]
		r.checkStep(s, "step", seen, &errs)
		forward[s.Name] = true
		if s.For != "" {
			add(s.Pos.Of("for"), "step %q: for: belongs to rollback steps only", s.Name)
		}
	}
	for i := range r.Spec.Triggers {
		tr := &r.Spec.Triggers[i]
		src, m := tr.Source()
		switch {
		case tr.Alertmanager != nil && tr.PagerDuty != nil:
			add(tr.Pos.Of(""), "trigger must have one source: alertmanager or pagerduty, not both")
		case src == "":
			add(tr.Pos.Of(""), "trigger needs a source: alertmanager or pagerduty")
		case !m.Match.IsSet():
			add(tr.Pos.Of(src), "%s trigger needs match: (a CEL condition)", src)
		}
	}
	if len(r.Spec.Triggers) > 0 && !r.Spec.Concurrency.IsSet() {
		add(r.Pos.Of("spec"), "a runbook with triggers needs spec.concurrency, the per-target lock (e.g. params.namespace + \"/\" + params.deployment), so a burst of alerts for one target is one run")
	}
	if l := r.Spec.Limits; l != nil {
		if l.MaxRunsPerHour < 0 {
			add(l.Pos.Of("maxRunsPerHour"), "limits.maxRunsPerHour must be zero (no limit) or more")
		}
	}
	for i := range r.Spec.Rollback {
		s := &r.Spec.Rollback[i]
		r.checkStep(s, "rollback step", seen, &errs)
		if s.For != "" && !forward[s.For] {
			add(s.Pos.Of("for"), "rollback step %q: for: %q is not a step of this runbook", s.Name, s.For)
		}
		if s.Approval != nil {
			add(s.Pos.Of("approval"), "rollback step %q: a rollback cannot wait for approval", s.Name)
		}
	}
	return errs.Err()
}

func (r *Runbook) checkStep(s *Step, what string, seen map[string]string, errs *source.Errors) {
	add := func(pos source.Pos, format string, args ...any) { errs.Add(r.File, pos, format, args...) }
	switch {
	case s.Name == "":
		add(s.Pos.Of(""), "%s needs a name", what)
	case !identRe.MatchString(s.Name):
		add(s.Pos.Of("name"), "step name %q must be letters, digits and _ so expressions can use steps.%s", s.Name, strings.ReplaceAll(s.Name, "-", "_"))
	case seen[s.Name] != "":
		add(s.Pos.Of("name"), "duplicate step name %q (first used at %s)", s.Name, seen[s.Name])
	}
	if s.Name != "" && seen[s.Name] == "" {
		p := s.Pos.Of("name")
		seen[s.Name] = fmt.Sprintf("line %d", p.Line)
	}
	kinds := 0
	for _, set := range []bool{s.Action != "", s.Approval != nil, s.Wait != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		add(s.Pos.Of(""), "%s %q must have exactly one of action, approval or wait", what, s.Name)
	}
	if s.Action == "" && s.With != nil {
		add(s.Pos.Of("with"), "%s %q: with: needs an action", what, s.Name)
	}
	if s.Action != "" {
		spec, ok := actions.Lookup(s.Action)
		if !ok {
			add(s.Pos.Of("action"), "%s %q: unknown action %q (known: %s)", what, s.Name, s.Action, strings.Join(actions.Names(), ", "))
		} else {
			checkWith(r.File, s, spec, errs)
		}
	}
	switch s.OnFailure {
	case "", OnFailureAbort, OnFailureContinue:
	default:
		add(s.Pos.Of("onFailure"), "%s %q: onFailure must be abort or continue, not %q", what, s.Name, s.OnFailure)
	}
	if a := s.Approval; a != nil {
		switch a.OnTimeout {
		case "", OnTimeoutAbort, OnTimeoutContinue:
		default:
			add(a.Pos.Of("onTimeout"), "%s %q: onTimeout must be abort or continue, not %q", what, s.Name, a.OnTimeout)
		}
		if a.Timeout == 0 {
			a.Timeout = DefaultApprovalTimeout
		}
	}
	if w := s.Wait; w != nil {
		switch {
		case w.Duration == 0 && !w.Until.IsSet():
			add(s.Pos.Of("wait"), "%s %q: wait needs a duration or until:", what, s.Name)
		case w.Duration != 0 && w.Until.IsSet():
			add(s.Pos.Of("wait"), "%s %q: wait takes a duration or until:, not both", what, s.Name)
		}
		if w.Until.IsSet() {
			if w.Every == 0 {
				w.Every = DefaultWaitEvery
			}
			if w.Timeout == 0 {
				w.Timeout = DefaultWaitTimeout
			}
		}
	}
	if rt := s.Retry; rt != nil {
		if rt.Attempts < 1 || rt.Attempts > 100 {
			add(rt.Pos.Of("attempts"), "%s %q: retry.attempts must be between 1 and 100", what, s.Name)
		}
		if s.Action == "" {
			add(s.Pos.Of("retry"), "%s %q: retry applies to actions only", what, s.Name)
		}
	}
}

// checkWith checks with: keys and literal values against the action's spec.
func checkWith(file string, s *Step, spec actions.Spec, errs *source.Errors) {
	for key, val := range s.With {
		f, ok := spec.Fields[key]
		if !ok {
			errs.Add(file, s.Pos.Of("with."+key), "step %q: action %s has no field %q (fields: %s)", s.Name, spec.Name, key, strings.Join(spec.FieldNames(), ", "))
			continue
		}
		if str, isStr := val.(string); isStr && hasTemplate(str) {
			continue
		}
		if err := checkKind(f.Kind, val); err != nil {
			errs.Add(file, s.Pos.Of("with."+key), "step %q: with.%s %v", s.Name, key, err)
		}
	}
	for _, name := range spec.FieldNames() {
		if spec.Fields[name].Required {
			if _, ok := s.With[name]; !ok {
				errs.Add(file, s.Pos.Of("action"), "step %q: action %s needs with.%s", s.Name, spec.Name, name)
			}
		}
	}
}

func checkKind(k actions.Kind, v any) error {
	ok := true
	switch k {
	case actions.KindString:
		_, ok = v.(string)
	case actions.KindInt:
		_, ok = v.(int64)
	case actions.KindBool:
		_, ok = v.(bool)
	case actions.KindDuration:
		s, isStr := v.(string)
		if ok = isStr; ok {
			if _, err := source.ParseDuration(s); err != nil {
				return err
			}
		}
	case actions.KindList:
		_, ok = v.([]any)
	case actions.KindMap:
		_, ok = v.(map[string]any)
	}
	if !ok {
		return fmt.Errorf("must be a %s, not %v", k, describe(v))
	}
	return nil
}

func describe(v any) string {
	switch v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%#v", v)
}
