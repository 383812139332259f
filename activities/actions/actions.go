// Package actions declares every action and activity Firebreak's workers
// perform: one table of specs (name, with: fields, dry-run behaviour), one
// file per integration, which the runbook type-checker reads and against
// which the worker registers each integration's handlers. It also defines
// the small input and output shapes shared by the workflows that call
// actions and the activities that perform them. It has no clients and no
// I/O, so the runbook format and the workflows can import it.
package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/secrets"
)

// Names of the built-in actions. Each is registered as an activity under
// exactly this name.
const (
	Log             = "log"
	HTTPRequest     = "http.request"
	PrometheusQuery = "prometheus.query"
)

// Kind is the type a with: field accepts.
type Kind string

// Kinds of with: fields.
const (
	KindString   Kind = "string"
	KindInt      Kind = "int"
	KindBool     Kind = "bool"
	KindDuration Kind = "duration"
	KindList     Kind = "list"
	KindMap      Kind = "map"
	KindAny      Kind = "any"
)

// Field describes one with: field of an action.
type Field struct {
	Kind        Kind
	Required    bool
	Description string
}

// Spec declares an action: its name, the with: fields the type-checker
// accepts and whether it knows how to dry-run.
type Spec struct {
	Name        string
	Description string
	Fields      map[string]Field
	// Mutating actions change something outside Firebreak.
	Mutating bool
	// DryRun is true when the activity itself knows how to dry-run (for
	// example Kubernetes server-side dry run); other actions are only
	// described, not called, in a dry run.
	DryRun bool
	// Secrets: the action may take ${{ secret("name") }} in its with:
	// strings, because it only sends them to the system it calls. Others
	// would log, post or store the value (log, slack.post), so a runbook
	// that gives them one does not load.
	Secrets bool
	// Internal activities are called only by Firebreak's own workflows,
	// with a typed request rather than a with: map; runbooks cannot name
	// them, so Lookup and Names leave them out.
	Internal bool
}

// Handler performs one action from its with: map; integrations bind one to
// each spec they implement.
type Handler func(ctx context.Context, req Request) (any, error)

// table holds every declared spec by name: each file of this package
// declares one integration's specs.
var table = index(builtinActions, kubernetesActions, pagerDutyActions, slackActions, incidentActions, chaosActivities)

func index(groups ...[]Spec) map[string]Spec {
	out := map[string]Spec{}
	for _, g := range groups {
		for _, s := range g {
			if _, dup := out[s.Name]; dup {
				panic("actions: duplicate action " + s.Name)
			}
			out[s.Name] = s
		}
	}
	return out
}

// Lookup returns the spec of an action a runbook may call.
func Lookup(name string) (Spec, bool) {
	s, ok := table[name]
	if s.Internal {
		return Spec{}, false
	}
	return s, ok
}

// Names lists every action a runbook may call, sorted.
func Names() []string {
	out := make([]string, 0, len(table))
	for n, s := range table {
		if !s.Internal {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// All returns every declared spec, internal activities included, sorted
// by name: the list the worker must register a handler for.
func All() []Spec {
	out := make([]Spec, 0, len(table))
	for _, s := range table {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Declared reports whether name is a declared action or activity.
func Declared(name string) bool {
	_, ok := table[name]
	return ok
}

// SecretActions lists the actions that take secret references, sorted.
func SecretActions() []string {
	var out []string
	for _, n := range Names() {
		if table[n].Secrets {
			out = append(out, n)
		}
	}
	return out
}

// FieldNames lists a spec's fields, sorted.
func (s Spec) FieldNames() []string {
	out := make([]string, 0, len(s.Fields))
	for n := range s.Fields {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Request is the input of every action activity.
type Request struct {
	RunID   string         `json:"runId"`
	Runbook string         `json:"runbook"`
	Step    string         `json:"step"`
	With    map[string]any `json:"with,omitempty"`
	DryRun  bool           `json:"dryRun,omitempty"`
	// Secrets are the places in With whose strings hold secret
	// references; the activity resolves them right before the call (see
	// package secrets). Nothing else in With is ever resolved.
	Secrets []secrets.Path `json:"secrets,omitempty"`
}

// IdempotencyKey identifies one step of one run, for target APIs that
// accept a key to make repeated calls safe.
func (r Request) IdempotencyKey() string { return r.RunID + "/" + r.Step }

// Result is the output of every action activity.
type Result struct {
	Output  any   `json:"output,omitempty"`
	Attempt int32 `json:"attempt"`
}

// Decode copies a request's with: values into a typed struct, rejecting
// unknown fields.
func Decode(with map[string]any, v any) error {
	b, err := json.Marshal(with)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("bad with: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// builtinActions need no outside system.
var builtinActions = []Spec{
	{
		Name:        Log,
		Description: "Write a message to the run record and the worker log.",
		Fields: map[string]Field{
			"message": {Kind: KindString, Required: true, Description: "text to record"},
			"level":   {Kind: KindString, Description: "info (default), warn or error"},
		},
		DryRun: true,
	},
	{
		Name:        HTTPRequest,
		Description: "Send an HTTP request and check its status.",
		Fields: map[string]Field{
			"method":         {Kind: KindString, Description: "GET (default), POST, PUT, PATCH, DELETE, HEAD"},
			"url":            {Kind: KindString, Required: true, Description: "absolute http or https URL the egress policy allows"},
			"headers":        {Kind: KindMap, Description: "request headers"},
			"body":           {Kind: KindAny, Description: "text, or a mapping/list sent as JSON"},
			"expectedStatus": {Kind: KindAny, Description: "a status or list of statuses counted as success (default: any 2xx; \"any\" accepts every status)"},
			"timeout":        {Kind: KindDuration, Description: "per-request timeout (default 10s)"},
		},
		Mutating: true,
		Secrets:  true,
		// A dry run checks the URL against the egress policy without
		// connecting.
		DryRun: true,
	},
	{
		Name:        PrometheusQuery,
		Description: "Run an instant PromQL query against the configured Prometheus.",
		Fields: map[string]Field{
			"query": {Kind: KindString, Required: true, Description: "PromQL expression"},
			"time":  {Kind: KindString, Description: "evaluation time, RFC 3339 (default: now)"},
		},
		DryRun: true,
	},
}

// permanent marks an error that retrying cannot fix (bad input, a 4xx).
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent wraps err so the action is not retried.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Permanentf is Permanent(fmt.Errorf(...)).
func Permanentf(format string, args ...any) error {
	return permanent{fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err was marked permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// ErrTypeFailed is the Temporal error type of a failed action.
const ErrTypeFailed = "ActionFailed"

// Failure is the detail attached to an action's error, so the run record
// can say how many attempts were made.
type Failure struct {
	Attempt int32 `json:"attempt"`
}
