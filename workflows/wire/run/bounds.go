package run

import (
	"encoding/json"
	"slices"

	"github.com/firebreak-ops/firebreak/internal/redact"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// Bounds of what a run's record keeps, so that the record — the status
// query's answer, the workflow's result, the input of its next execution
// and what its Slack message is rendered from — stays far inside
// Temporal's 2 MB payload limit whatever a step returns.
const (
	// MaxOutputBytes bounds a step's output as the record keeps it (its
	// JSON); a bigger output is kept as a Truncated marker. Expressions
	// still see the whole output.
	MaxOutputBytes = 8 << 10
	// MaxWithBytes bounds a step's with: as the record keeps it.
	MaxWithBytes = 8 << 10
	// MaxInputBytes bounds each value a guard read, as its decision keeps it.
	MaxInputBytes = 1 << 10
	// MaxErrorBytes bounds a step's and the run's error text.
	MaxErrorBytes = 2000
	// MaxReasonBytes bounds the reason of an access decision.
	MaxReasonBytes = 500
	// MaxLabels and MaxLabelBytes bound the labels an alert record keeps.
	MaxLabels     = 32
	MaxLabelBytes = 256
)

// TruncatedKey marks a value the record keeps only the start of: the
// value is replaced by {"truncated": true, "bytes": <its JSON's size>,
// "preview": <its JSON's start>}.
const TruncatedKey = "truncated"

// Cap returns v as a record keeps it: v itself when its JSON is at most
// max bytes, else the truncated marker (see TruncatedKey).
func Cap(v any, max int) any {
	if v == nil {
		return nil
	}
	//workflowcheck:ignore encoding/json writes maps in key order: deterministic
	b, err := json.Marshal(v)
	if err != nil || len(b) <= max {
		return v
	}
	return map[string]any{TruncatedKey: true, "bytes": int64(len(b)), "preview": Clip(string(b), max/2)}
}

// IsTruncated reports whether a recorded value is the truncated marker.
func IsTruncated(v any) bool {
	m, ok := v.(map[string]any)
	return ok && m[TruncatedKey] == true && len(m) == 3 && m["preview"] != nil
}

// Clip cuts s to at most max bytes on a character boundary, ending it with
// "…" when it was cut (the incident record's clip, shared).
func Clip(s string, max int) string { return incidentwire.ClipText(s, max) }

// ClipLabels keeps at most MaxLabels labels, in key order, each key and
// value clipped to MaxLabelBytes.
func ClipLabels(labels map[string]string) map[string]string {
	if len(labels) == 0 {
		return labels
	}
	keys := make([]string, 0, len(labels))
	//workflowcheck:ignore the keys are sorted below
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make(map[string]string, min(len(keys), MaxLabels))
	for _, k := range keys[:min(len(keys), MaxLabels)] {
		out[Clip(k, MaxLabelBytes)] = Clip(labels[k], MaxLabelBytes)
	}
	return out
}

// Redacted returns a copy of the state with every secret replaced (see
// internal/redact): params named like secrets, secret with: fields, outputs
// and guard inputs at any depth, credentials in errors, comments and
// reasons. Records written before redaction covered all of these are shown
// through it too.
func (s *RunState) Redacted() *RunState {
	if s == nil {
		return nil
	}
	v := *s
	v.Params = redact.Map(s.Params)
	v.Error = redact.Text(s.Error)
	v.Steps = redactSteps(s.Steps)
	v.Rollback = redactSteps(s.Rollback)
	if s.Retries != nil {
		v.Retries = make([]RetryRecord, len(s.Retries))
		for i, rec := range s.Retries {
			rec.Reason = redact.Text(rec.Reason)
			v.Retries[i] = rec
		}
	}
	if s.Access != nil {
		v.Access = make([]AccessDecision, len(s.Access))
		for i, d := range s.Access {
			d.Reason = redact.Text(d.Reason)
			v.Access[i] = d
		}
	}
	return &v
}

func redactSteps(steps []StepState) []StepState {
	if steps == nil {
		return nil
	}
	out := make([]StepState, len(steps))
	for i, st := range steps {
		st.With = redact.Map(st.With)
		st.Output = redact.Value(st.Output)
		st.Error = redact.Text(st.Error)
		if d := st.Decision; d != nil {
			c := *d
			c.Inputs = redact.Map(d.Inputs)
			c.Reason = redact.Text(d.Reason)
			st.Decision = &c
		}
		if a := st.Approval; a != nil {
			c := *a
			c.Message, c.Comment = redact.Text(a.Message), redact.Text(a.Comment)
			st.Approval = &c
		}
		out[i] = st
	}
	return out
}

// SlackView is what a run's Slack message is rendered from: the state
// without step inputs and outputs, guard inputs, alerts and access
// records, with params redacted and capped and texts redacted and clipped,
// so the notifier sends a few kilobytes whatever the run holds.
func (s *RunState) SlackView() *RunState {
	v := *s
	params := make(map[string]any, len(s.Params))
	//workflowcheck:ignore builds a map; order does not matter
	for k, p := range redact.Map(s.Params) {
		params[k] = Cap(p, 200)
	}
	v.Params = params
	v.Alerts, v.Access = nil, nil
	v.Error = Clip(redact.Text(s.Error), 1000)
	v.Steps, v.Rollback = slimSteps(s.Steps), slimSteps(s.Rollback)
	return &v
}

func slimSteps(steps []StepState) []StepState {
	if steps == nil {
		return nil
	}
	out := make([]StepState, len(steps))
	for i, st := range steps {
		st.With, st.Output = nil, nil
		st.Error = Clip(redact.Text(st.Error), 500)
		if d := st.Decision; d != nil {
			st.Decision = &Decision{Expression: Clip(d.Expression, 300), Result: d.Result, Reason: Clip(redact.Text(d.Reason), 500)}
		}
		if a := st.Approval; a != nil {
			c := *a
			c.Message, c.Comment = Clip(redact.Text(a.Message), 1000), Clip(redact.Text(a.Comment), 300)
			st.Approval = &c
		}
		out[i] = st
	}
	return out
}
