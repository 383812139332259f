package plan

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/robfig/cron/v3"

	"github.com/firebreak-ops/firebreak/internal/secrets"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// Selector modes, narrowest first.
const (
	ModeOne              = "one"
	ModeFixed            = "fixed"
	ModeFixedPercent     = "fixed-percent"
	ModeRandomMaxPercent = "random-max-percent"
	ModeAll              = "all"
)

var modeRank = map[string]int{ModeOne: 1, ModeFixed: 2, ModeFixedPercent: 3, ModeRandomMaxPercent: 4, ModeAll: 5}

func modeList() string {
	return strings.Join([]string{ModeOne, ModeFixed, ModeFixedPercent, ModeRandomMaxPercent, ModeAll}, ", ")
}

// cronParser reads five-field schedules and descriptors such as @daily.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Check validates an experiment's structure and fills defaults: everything
// that needs no CEL and no Chaos Mesh.
func (e *Experiment) Check() error {
	var errs source.Errors
	add := func(pos source.Pos, format string, args ...any) { errs.Add(e.File, pos, format, args...) }
	if e.APIVersion != APIVersion {
		add(e.Pos.Of("apiVersion"), "apiVersion must be %q, not %q", APIVersion, e.APIVersion)
	}
	if e.Kind != KindExperiment {
		add(e.Pos.Of("kind"), "kind must be %q or %q, not %q", KindExperiment, KindGameDay, e.Kind)
	}
	switch {
	case e.Metadata.Name == "":
		add(e.Pos.Of("metadata"), "metadata.name is required")
	case !nameRe.MatchString(e.Metadata.Name):
		add(e.Metadata.Pos.Of("name"), "metadata.name %q must be lower-case letters, digits and dashes, at most 47 characters", e.Metadata.Name)
	}
	s := &e.Spec
	t, br := &s.Target, &s.BlastRadius
	if len(br.Namespaces) == 0 {
		add(s.Pos.Of("blastRadius"), "spec.blastRadius.namespaces is required: list the namespaces this experiment may touch")
	}
	if len(t.Namespaces) == 0 {
		add(s.Pos.Of("target"), "spec.target.namespaces is required")
	}
	allowed := map[string]bool{}
	for _, ns := range br.Namespaces {
		allowed[ns] = true
	}
	for i, ns := range t.Namespaces {
		if len(br.Namespaces) > 0 && !allowed[ns] {
			add(t.Pos.Of("namespaces"), "spec.target.namespaces[%d]: namespace %q is outside spec.blastRadius.namespaces (%s)", i, ns, strings.Join(br.Namespaces, ", "))
		}
	}
	if len(t.Selector) == 0 {
		add(s.Pos.Of("target"), "spec.target.selector is required: an empty selector would pick every pod in the namespace")
	}
	if t.Mode == "" {
		t.Mode = ModeOne
	}
	if br.MaxMode == "" {
		br.MaxMode = ModeOne
	}
	if _, ok := modeRank[br.MaxMode]; !ok {
		add(br.Pos.Of("maxMode"), "spec.blastRadius.maxMode must be one of %s, not %q", modeList(), br.MaxMode)
	}
	if rank, ok := modeRank[t.Mode]; !ok {
		add(t.Pos.Of("mode"), "spec.target.mode must be one of %s, not %q", modeList(), t.Mode)
	} else {
		switch {
		case t.Mode == ModeAll && !br.AllowAll:
			add(t.Pos.Of("mode"), "spec.target.mode all is refused unless spec.blastRadius.allowAll is true")
		case t.Mode != ModeAll && modeRank[br.MaxMode] > 0 && rank > modeRank[br.MaxMode]:
			add(t.Pos.Of("mode"), "spec.target.mode %s is wider than spec.blastRadius.maxMode %s", t.Mode, br.MaxMode)
		}
		e.checkValue(add)
	}
	if br.MaxPods < 0 || br.MaxPercent < 0 || br.MaxPercent > 100 {
		add(s.Pos.Of("blastRadius"), "spec.blastRadius: maxPods must be ≥ 0 and maxPercent between 0 and 100")
	}
	switch {
	case s.Duration <= 0:
		add(s.Pos.Of("duration"), "spec.duration is required and must be positive")
	case br.MaxDuration > 0 && s.Duration > br.MaxDuration:
		add(s.Pos.Of("duration"), "spec.duration %s is longer than spec.blastRadius.maxDuration %s", s.Duration, br.MaxDuration)
	}
	if s.Interval == 0 {
		s.Interval = DefaultInterval
	}
	if s.Interval < 0 || (s.Duration > 0 && s.Interval > s.Duration) {
		add(s.Pos.Of("interval"), "spec.interval must be positive and no longer than spec.duration")
	}
	if s.InjectTimeout <= 0 {
		s.InjectTimeout = DefaultInjectTimeout
	}
	if s.RecoveryTimeout <= 0 {
		s.RecoveryTimeout = DefaultRecoveryTimeout
	}
	if s.Weight < 0 {
		add(s.Pos.Of("weight"), "spec.weight must be ≥ 0")
	}
	if s.Weight == 0 {
		s.Weight = DefaultWeight
	}
	e.checkProbes(add)
	if c := s.Context; c != nil {
		for i := range c.FreezeWindows {
			w := &c.FreezeWindows[i]
			if _, err := cronParser.Parse(w.Schedule); err != nil {
				add(w.Pos.Of("schedule"), "spec.context.freezeWindows[%d].schedule: %v", i, err)
			}
			if w.Duration <= 0 {
				add(w.Pos.Of("duration"), "spec.context.freezeWindows[%d].duration is required and must be positive", i)
			}
		}
		if c.ErrorBudget != nil && strings.TrimSpace(c.ErrorBudget.Query) == "" {
			add(c.Pos.Of("errorBudget"), "spec.context.errorBudget.query is required")
		}
	}
	if s.Notify != nil && s.Notify.Slack != nil && s.Notify.Slack.Channel == "" {
		add(s.Notify.Slack.Pos.Of(""), "spec.notify.slack.channel is required")
	}
	if s.Fault.Kind == "" && len(s.Fault.Spec) == 0 {
		add(s.Pos.Of(""), "spec.fault is required")
	}
	return errs.Err()
}

func (e *Experiment) checkValue(add func(source.Pos, string, ...any)) {
	t, br := &e.Spec.Target, &e.Spec.BlastRadius
	switch t.Mode {
	case ModeOne, ModeAll:
		if t.Value != "" {
			add(t.Pos.Of("value"), "spec.target.value is only for the fixed and percent modes")
		}
	case ModeFixed:
		n, err := strconv.Atoi(t.Value)
		switch {
		case err != nil || n < 1:
			add(t.Pos.Of("value"), "spec.target.value must be a pod count ≥ 1 for mode fixed, not %q", t.Value)
		case br.MaxPods > 0 && n > br.MaxPods:
			add(t.Pos.Of("value"), "spec.target.value %d is more than spec.blastRadius.maxPods %d", n, br.MaxPods)
		}
	case ModeFixedPercent, ModeRandomMaxPercent:
		n, err := strconv.Atoi(t.Value)
		switch {
		case err != nil || n < 1 || n > 100:
			add(t.Pos.Of("value"), "spec.target.value must be a percentage from 1 to 100 for mode %s, not %q", t.Mode, t.Value)
		case br.MaxPercent > 0 && n > br.MaxPercent:
			add(t.Pos.Of("value"), "spec.target.value %d%% is more than spec.blastRadius.maxPercent %d%%", n, br.MaxPercent)
		}
	}
}

func (e *Experiment) checkProbes(add func(source.Pos, string, ...any)) {
	seen := map[string]bool{}
	for i := range e.Spec.Probes {
		p := &e.Spec.Probes[i]
		where := fmt.Sprintf("spec.probes[%d]", i)
		switch {
		case p.Name == "":
			add(p.Pos.Of(""), "%s.name is required", where)
		case !identRe.MatchString(p.Name):
			add(p.Pos.Of("name"), "%s.name %q must be a CEL identifier (letters, digits, underscores)", where, p.Name)
		case seen[p.Name]:
			add(p.Pos.Of("name"), "%s.name: probe %q is defined twice", where, p.Name)
		}
		seen[p.Name] = true
		n := 0
		for _, set := range []bool{p.Prometheus != nil, p.HTTP != nil, p.Kubernetes != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			add(p.Pos.Of(""), "%s needs exactly one of prometheus, http or kubernetes", where)
			continue
		}
		switch {
		case p.Prometheus != nil && strings.TrimSpace(p.Prometheus.Query) == "":
			add(p.Pos.Of("prometheus"), "%s.prometheus.query is required", where)
		case p.HTTP != nil:
			u, err := url.Parse(p.HTTP.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add(p.HTTP.Pos.Of("url"), "%s.http.url must be an absolute http or https URL, not %q", where, p.HTTP.URL)
			}
			if secrets.HasMarker(p.HTTP.URL) {
				add(p.HTTP.Pos.Of("url"), "%s.http.url: a secret may only be sent in a header (${{ secret(\"name\") }} in http.headers)", where)
			}
			for _, k := range slices.Sorted(maps.Keys(p.HTTP.Headers)) {
				if _, _, err := secrets.Canonical(p.HTTP.Headers[k]); err != nil {
					add(p.HTTP.Pos.Of("headers."+k), "%s.http.headers.%s: %v", where, k, err)
				}
			}
		case p.Kubernetes != nil:
			k := p.Kubernetes
			if k.APIVersion == "" || k.Kind == "" || k.Name == "" {
				add(p.Pos.Of("kubernetes"), "%s.kubernetes needs apiVersion, kind and name", where)
			}
		}
	}
}

// FillSpec sets the fields of a fault's spec Firebreak owns: selector,
// mode and value from spec.target, duration from spec.duration.
func (e *Experiment) FillSpec(m map[string]any) {
	s := &e.Spec
	sel := map[string]any{"namespaces": s.Target.Namespaces}
	if len(s.Target.Selector) > 0 {
		sel["labelSelectors"] = s.Target.Selector
	}
	m["selector"] = sel
	m["mode"] = s.Target.Mode
	if s.Target.Value != "" {
		m["value"] = s.Target.Value
	}
	m["duration"] = s.Duration.String()
}

// filledSpec is the fault's spec with FillSpec applied but without Chaos
// Mesh's defaulting: what an experiment whose input predates Rendered
// creates, leaving the defaults to Chaos Mesh's webhook.
func (e *Experiment) filledSpec() (json.RawMessage, error) {
	var m map[string]any
	if len(e.Spec.Fault.Spec) > 0 {
		if err := json.Unmarshal(e.Spec.Fault.Spec, &m); err != nil {
			return nil, err
		}
	}
	if m == nil {
		m = map[string]any{}
	}
	e.FillSpec(m)
	return json.Marshal(m)
}
