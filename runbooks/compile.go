package runbooks

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/guard"
	"github.com/firebreak-ops/firebreak/internal/secrets"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// CEL object type names.
const (
	paramsType = "firebreak.Params"
	runType    = "firebreak.Run"
	stepType   = "firebreak.Step"
	stepsType  = "firebreak.Steps"
)

// Variables every runbook expression may use.
const (
	VarParams = "params"
	VarSteps  = "steps"
	VarRun    = "run"
	VarNow    = "now"
	// VarAlert is the latest Alertmanager alert a run received (empty for
	// runs started otherwise); alertmanager trigger expressions see the
	// incoming alert under the same name.
	VarAlert = "alert"
	// VarEvent is the latest PagerDuty webhook event, likewise.
	VarEvent = "event"
	// VarAlerts lists every Alertmanager alert a run received, each in its
	// latest state (one entry per fingerprint, oldest first), so a run fed
	// by several alerts can wait for all of them.
	VarAlerts = "alerts"
)

const alertType = "firebreak.Alert"

// AlertFields are the fields of `alert` in expressions.
var AlertFields = map[string]*cel.Type{
	"labels":       cel.MapType(cel.StringType, cel.StringType),
	"annotations":  cel.MapType(cel.StringType, cel.StringType),
	"status":       guard.String,
	"startsAt":     guard.Timestamp,
	"endsAt":       guard.Timestamp,
	"fingerprint":  guard.String,
	"generatorURL": guard.String,
}

// RunFields are the fields of `run` in expressions.
var RunFields = map[string]*cel.Type{
	"id":          guard.String,
	"runbook":     guard.String,
	"startedAt":   guard.Timestamp,
	"trigger":     guard.String,
	"requestedBy": guard.String,
	"dryRun":      guard.Bool,
}

// StepFields are the fields of each steps.<name> in expressions.
var StepFields = map[string]*cel.Type{
	"status":   guard.String,
	"output":   guard.Dyn,
	"error":    guard.String,
	"attempts": guard.Int,
}

// Plan is a runbook with every expression compiled.
type Plan struct {
	Runbook     *Runbook
	Concurrency *guard.Program
	Steps       []*StepPlan
	Rollback    []*StepPlan
	Triggers    []*TriggerPlan
}

// TriggerPlan is a trigger with its compiled expressions.
type TriggerPlan struct {
	Source string
	Match  *guard.Program
	Params map[string]*guard.Program
}

// StepPlan is one step with its compiled expressions.
type StepPlan struct {
	*Step
	When  *guard.Program
	With  *Template
	Until *guard.Program
	// Message renders approval.message.
	Message *Template
}

// Name returns the runbook name.
func (p *Plan) Name() string { return p.Runbook.Name() }

// Step returns the forward step with the given name.
func (p *Plan) Step(name string) *StepPlan {
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func celType(t ParamType) *cel.Type {
	switch t {
	case TypeInt:
		return guard.Int
	case TypeBool:
		return guard.Bool
	case TypeDuration:
		return guard.Duration
	case TypeList:
		return guard.List
	case TypeMap:
		return guard.Map
	}
	return guard.String
}

// envFor builds the environment for expressions that can see the given
// earlier steps (nil: none, as for spec.concurrency).
func (r *Runbook) envFor(steps []string, withSteps bool) (*guard.Env, error) {
	params := map[string]*cel.Type{}
	for _, p := range r.Spec.Params {
		params[p.Name] = celType(p.Type)
	}
	objects := []guard.Object{
		{Name: paramsType, Fields: params},
		{Name: runType, Fields: RunFields},
		{Name: alertType, Fields: AlertFields},
	}
	vars := []guard.Var{
		{Name: VarParams, Type: guard.ObjectType(paramsType)},
		{Name: VarRun, Type: guard.ObjectType(runType)},
		{Name: VarNow, Type: guard.Timestamp},
		{Name: VarAlert, Type: guard.ObjectType(alertType)},
		{Name: VarAlerts, Type: cel.ListType(guard.ObjectType(alertType))},
		{Name: VarEvent, Type: guard.Map},
	}
	if withSteps {
		fields := map[string]*cel.Type{}
		for _, s := range steps {
			fields[s] = guard.ObjectType(stepType)
		}
		objects = append(objects,
			guard.Object{Name: stepType, Fields: StepFields},
			guard.Object{Name: stepsType, Fields: fields})
		vars = append(vars, guard.Var{Name: VarSteps, Type: guard.ObjectType(stepsType)})
	}
	return guard.NewEnv(objects, vars)
}

// Compile type-checks and compiles every expression of a parsed runbook.
func Compile(r *Runbook) (*Plan, error) {
	var errs source.Errors
	plan := &Plan{Runbook: r}
	all := make([]string, 0, len(r.Spec.Steps))
	for _, s := range r.Spec.Steps {
		all = append(all, s.Name)
	}
	if r.Spec.Concurrency.IsSet() {
		env, err := r.envFor(nil, false)
		if err != nil {
			return nil, err
		}
		plan.Concurrency = compileExpr(r.File, env, r.Spec.Concurrency, guard.String, "spec.concurrency", nil, &errs)
	}
	for i := range r.Spec.Steps {
		env, err := r.envFor(all[:i], true)
		if err != nil {
			return nil, err
		}
		plan.Steps = append(plan.Steps, compileStep(r.File, env, &r.Spec.Steps[i], all, i, &errs))
	}
	if len(r.Spec.Rollback) > 0 {
		env, err := r.envFor(all, true)
		if err != nil {
			return nil, err
		}
		for i := range r.Spec.Rollback {
			plan.Rollback = append(plan.Rollback, compileStep(r.File, env, &r.Spec.Rollback[i], all, len(all), &errs))
		}
	}
	if len(r.Spec.Triggers) > 0 {
		tenv, err := triggerEnv()
		if err != nil {
			return nil, err
		}
		for i := range r.Spec.Triggers {
			if tp := compileTrigger(r, tenv, &r.Spec.Triggers[i], &errs); tp != nil {
				plan.Triggers = append(plan.Triggers, tp)
			}
		}
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return plan, nil
}

var (
	triggerEnvOnce sync.Once
	triggerEnvVal  *guard.Env
	triggerEnvErr  error
)

// triggerEnv is where trigger expressions live: they see only the incoming
// alert or event and the time.
func triggerEnv() (*guard.Env, error) {
	triggerEnvOnce.Do(func() {
		triggerEnvVal, triggerEnvErr = guard.NewEnv(
			[]guard.Object{{Name: alertType, Fields: AlertFields}},
			[]guard.Var{
				{Name: VarAlert, Type: guard.ObjectType(alertType)},
				{Name: VarEvent, Type: guard.Map},
				{Name: VarNow, Type: guard.Timestamp},
			})
	})
	return triggerEnvVal, triggerEnvErr
}

func compileTrigger(r *Runbook, env *guard.Env, t *Trigger, errs *source.Errors) *TriggerPlan {
	src, m := t.Source()
	if m == nil || !m.Match.IsSet() {
		return nil
	}
	tp := &TriggerPlan{Source: src, Params: map[string]*guard.Program{}}
	what := src + " trigger"
	tp.Match = compileExpr(r.File, env, m.Match, guard.Bool, what+": match", wrongVar(src), errs)
	declared := map[string]*Param{}
	for i := range r.Spec.Params {
		declared[r.Spec.Params[i].Name] = &r.Spec.Params[i]
	}
	for _, name := range sortedExprKeys(m.Params) {
		e := m.Params[name]
		p := declared[name]
		if p == nil {
			errs.Add(r.File, m.Pos.Of("params."+name), "%s: runbook has no param %q", what, name)
			continue
		}
		var want *cel.Type
		switch p.Type {
		case TypeString, TypeInt, TypeBool:
			want = celType(p.Type)
		}
		if e.Pos == (source.Pos{}) {
			e.Pos = m.Pos.Of("params." + name)
		}
		tp.Params[name] = compileExpr(r.File, env, e, want, fmt.Sprintf("%s: params.%s", what, name), wrongVar(src), errs)
	}
	for _, p := range r.Spec.Params {
		if _, set := m.Params[p.Name]; !set && p.Required {
			errs.Add(r.File, m.Pos.Of(""), "%s does not set required param %q", what, p.Name)
		}
	}
	return tp
}

// wrongVar flags alert in a pagerduty trigger and event in an alertmanager
// one: each trigger sees only its own source.
func wrongVar(src string) func(string) string {
	return func(path string) string {
		root, _, _ := strings.Cut(path, ".")
		switch {
		case src == SourceAlertmanager && root == VarEvent:
			return "an alertmanager trigger sees alert, not event"
		case src == SourcePagerDuty && root == VarAlert:
			return "a pagerduty trigger sees event, not alert"
		}
		return ""
	}
}

func sortedExprKeys(m map[string]source.Expr) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Eval matches an alert or event (in vars) and, when it matches, returns
// the params it gives.
func (tp *TriggerPlan) Eval(vars map[string]any) (bool, map[string]any, error) {
	ok, err := tp.Match.EvalBool(vars)
	if err != nil || !ok {
		return false, nil, err
	}
	params := make(map[string]any, len(tp.Params))
	for name, prg := range tp.Params {
		v, err := prg.Eval(vars)
		if err != nil {
			return true, nil, fmt.Errorf("params.%s: %w", name, err)
		}
		params[name] = v
	}
	return true, params, nil
}

func compileStep(file string, env *guard.Env, s *Step, all []string, index int, errs *source.Errors) *StepPlan {
	sp := &StepPlan{Step: s}
	refs := stepRefs{all: all, index: index}
	if s.When.IsSet() {
		sp.When = compileExpr(file, env, s.When, guard.Bool, fmt.Sprintf("step %q: when", s.Name), refs.check, errs)
	}
	if s.Wait != nil && s.Wait.Until.IsSet() {
		sp.Until = compileExpr(file, env, s.Wait.Until, guard.Bool, fmt.Sprintf("step %q: wait.until", s.Name), refs.check, errs)
	}
	if len(s.With) > 0 {
		t, err := compileTemplate(env, s.With, refs.check, true)
		for _, e := range err {
			errs.Add(file, s.Pos.Of("with."+e.key), "step %q: with.%s: %s", s.Name, e.key, e.msg)
		}
		if paths := t.SecretPaths(); len(paths) > 0 {
			if spec, ok := actions.Lookup(s.Action); ok && !spec.Secrets {
				key := paths[0].String()
				errs.Add(file, s.Pos.Of("with."+key), "step %q: with.%s: action %s cannot take a secret (it would log, post or keep it); actions that send a secret only to the system they call: %s",
					s.Name, key, s.Action, strings.Join(actions.SecretActions(), ", "))
			}
		}
		sp.With = t
	}
	if s.Approval != nil && hasTemplate(s.Approval.Message) {
		t, err := compileTemplate(env, map[string]any{"message": s.Approval.Message}, refs.check, false)
		for _, e := range err {
			errs.Add(file, s.Approval.Pos.Of("message"), "step %q: approval.message: %s", s.Name, e.msg)
		}
		sp.Message = t
	}
	return sp
}

// stepRefs turns references to later or unknown steps into clear errors
// before CEL's own "undefined field".
type stepRefs struct {
	all   []string
	index int
}

func (r stepRefs) check(path string) string {
	parts := strings.Split(path, ".")
	if len(parts) < 2 || parts[0] != VarSteps {
		return ""
	}
	name := parts[1]
	for i, s := range r.all {
		if s != name {
			continue
		}
		switch {
		case i == r.index:
			return fmt.Sprintf("steps.%s refers to this step itself; only earlier steps can be used", name)
		case i > r.index:
			return fmt.Sprintf("steps.%s runs after this step; only earlier steps can be used", name)
		}
		return ""
	}
	return fmt.Sprintf("steps.%s: no step is named %q", name, name)
}

func compileExpr(file string, env *guard.Env, e source.Expr, want *cel.Type, what string, refCheck func(string) string, errs *source.Errors) *guard.Program {
	if secrets.Mentioned(e.Text) {
		errs.Add(file, e.Pos, "%s: %s", what, secrets.OutsideWith)
		return nil
	}
	if refCheck != nil {
		if paths, err := env.Paths(e.Text); err == nil {
			for _, p := range paths {
				if msg := refCheck(p); msg != "" {
					errs.Add(file, e.Pos, "%s: %s", what, msg)
					return nil
				}
			}
		}
	}
	prg, err := env.Compile(e.Text, want)
	if err != nil {
		if ce, ok := err.(*guard.CompileError); ok {
			for _, p := range ce.Problems {
				errs.Add(file, e.At(p.Line, p.Col), "%s: %s", what, p.Msg)
			}
			return nil
		}
		errs.Add(file, e.Pos, "%s: %v", what, err)
	}
	return prg
}

var planCache source.Cache[*Plan]

// CompileCached compiles a runbook once per process: workflows call it on
// every replay with the definition from their input, and get the same plan
// back without compiling CEL again.
func CompileCached(r *Runbook) (*Plan, error) {
	key, err := planCache.Key(r)
	if err != nil {
		return nil, err
	}
	if p, ok := planCache.Get(key); ok {
		return p, nil
	}
	// The definition came through JSON: re-check it like a file, which also
	// fills the defaults the workflow relies on.
	if err := r.check(); err != nil {
		return nil, err
	}
	p, err := Compile(r)
	if err != nil {
		return nil, err
	}
	planCache.Put(key, p)
	return p, nil
}

// Load parses and compiles every runbook in a file.
func Load(file string, data []byte) ([]*Plan, error) {
	rbs, err := Parse(file, data)
	var errs source.Errors
	errs.Append(file, err)
	var plans []*Plan
	for _, rb := range rbs {
		// Compile even a runbook with structural problems, so one run of
		// validate reports its CEL errors too.
		p, err := Compile(rb)
		if err != nil {
			errs.Append(file, err)
			continue
		}
		if !rb.invalid {
			plans = append(plans, p)
			// Workers of this process find the plan without compiling.
			planCache.Remember(rb, p)
		}
	}
	return plans, errs.Err()
}

// Summary describes a runbook for listings.
type Summary struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Params      []Param `json:"params"`
	Steps       int     `json:"steps"`
}

// Summary returns the listing entry of a plan.
func (p *Plan) Summary() Summary {
	params := p.Runbook.Spec.Params
	if params == nil {
		params = []Param{}
	}
	return Summary{Name: p.Name(), Description: p.Runbook.Metadata.Description, Params: params, Steps: len(p.Steps)}
}

// sortedMapKeys returns the keys of m in order.
func sortedMapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
