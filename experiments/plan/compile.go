package plan

import (
	"encoding/json"
	"fmt"

	"github.com/google/cel-go/cel"

	"github.com/firebreak-ops/firebreak/internal/guard"
	"github.com/firebreak-ops/firebreak/internal/secrets"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// CEL variables.
const (
	// VarProbes holds the latest value of every probe, by name.
	VarProbes = "probes"
	// VarElapsed is how long the fault has been injected (0 before).
	VarElapsed = "elapsed"
	// VarContext is what preconditions read.
	VarContext = "context"

	probesType  = "firebreak.experiment.Probes"
	contextType = "firebreak.experiment.Context"
)

// Context fields preconditions can read.
const (
	CtxOpenIncidents = "openIncidents"
	CtxInFreeze      = "inFreeze"
	CtxFreezeWindows = "freezeWindows"
	CtxErrorBudget   = "errorBudget"
	CtxNow           = "now"
)

// Plan is a checked, compiled experiment.
type Plan struct {
	Experiment *Experiment
	// Spec is the Chaos Mesh spec to create, selector and duration filled:
	// the fault's Rendered spec.
	Spec          json.RawMessage
	SteadyState   *guard.Program
	AbortWhen     *guard.Program
	Preconditions []*guard.Program
}

// Name returns the experiment's name.
func (p *Plan) Name() string { return p.Experiment.Name() }

func probeType(p *Probe) *cel.Type {
	if p.Prometheus != nil {
		return guard.Double
	}
	return guard.Map
}

func (e *Experiment) probeEnv() (*guard.Env, error) {
	fields := map[string]*cel.Type{}
	for i := range e.Spec.Probes {
		fields[e.Spec.Probes[i].Name] = probeType(&e.Spec.Probes[i])
	}
	return guard.NewEnv(
		[]guard.Object{{Name: probesType, Fields: fields}},
		[]guard.Var{{Name: VarProbes, Type: guard.ObjectType(probesType)}, {Name: VarElapsed, Type: guard.Duration}})
}

func (e *Experiment) contextEnv() (*guard.Env, error) {
	fields := map[string]*cel.Type{
		CtxOpenIncidents: guard.Int,
		CtxInFreeze:      guard.Bool,
		CtxFreezeWindows: guard.List,
		CtxNow:           guard.Timestamp,
	}
	if e.Spec.Context != nil && e.Spec.Context.ErrorBudget != nil {
		fields[CtxErrorBudget] = guard.Double
	}
	return guard.NewEnv(
		[]guard.Object{{Name: contextType, Fields: fields}},
		[]guard.Var{{Name: VarContext, Type: guard.ObjectType(contextType)}})
}

// Compile type-checks every expression of a parsed experiment. The plan's
// spec is the one rendered when the file loaded.
func Compile(e *Experiment) (*Plan, error) {
	var errs source.Errors
	p := &Plan{Experiment: e}
	penv, err := e.probeEnv()
	if err != nil {
		return nil, err
	}
	cenv, err := e.contextEnv()
	if err != nil {
		return nil, err
	}
	s := &e.Spec
	if s.SteadyState.IsSet() {
		p.SteadyState = compileExpr(e.File, penv, s.SteadyState, "spec.steadyState", &errs)
	}
	if s.AbortWhen.IsSet() {
		p.AbortWhen = compileExpr(e.File, penv, s.AbortWhen, "spec.abortWhen", &errs)
	}
	for i, x := range s.Preconditions {
		if prg := compileExpr(e.File, cenv, x, fmt.Sprintf("spec.preconditions[%d]", i), &errs); prg != nil {
			p.Preconditions = append(p.Preconditions, prg)
		}
	}
	p.Spec = s.Fault.Rendered
	if len(p.Spec) == 0 && s.Fault.Kind != "" {
		spec, err := e.filledSpec()
		if err != nil {
			errs.Add(e.File, s.Fault.Pos.Of("spec"), "spec.fault.spec: %v", err)
		}
		p.Spec = spec
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

func compileExpr(file string, env *guard.Env, x source.Expr, what string, errs *source.Errors) *guard.Program {
	if secrets.Mentioned(x.Text) {
		errs.Add(file, x.Pos, "%s: %s", what, secrets.OutsideWith)
		return nil
	}
	prg, err := env.Compile(x.Text, guard.Bool)
	if err != nil {
		if ce, ok := err.(*guard.CompileError); ok {
			for _, pr := range ce.Problems {
				errs.Add(file, x.At(pr.Line, pr.Col), "%s: %s", what, pr.Msg)
			}
			return nil
		}
		errs.Add(file, x.Pos, "%s: %v", what, err)
	}
	return prg
}

var planCache source.Cache[*Plan]

// CompileCached compiles an experiment once per process: the workflow
// calls it on every replay with the definition from its input.
func CompileCached(e *Experiment) (*Plan, error) {
	key, err := planCache.Key(e)
	if err != nil {
		return nil, err
	}
	if p, ok := planCache.Get(key); ok {
		return p, nil
	}
	if err := e.Check(); err != nil {
		return nil, err
	}
	p, err := Compile(e)
	if err != nil {
		return nil, err
	}
	planCache.Put(key, p)
	return p, nil
}

// Remember caches a plan compiled from a file, so workers of this process
// find it without compiling.
func Remember(e *Experiment, p *Plan) { planCache.Remember(e, p) }

// Summary describes an experiment for listings.
type Summary struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Fault       string   `json:"fault"`
	Namespaces  []string `json:"namespaces"`
	Mode        string   `json:"mode"`
	Duration    string   `json:"duration"`
	Probes      []string `json:"probes,omitempty"`
}

// Summary describes the plan for listings.
func (p *Plan) Summary() Summary {
	e := p.Experiment
	s := Summary{Name: e.Name(), Description: e.Metadata.Description, Fault: e.Spec.Fault.Kind,
		Namespaces: e.Spec.Target.Namespaces, Mode: e.Spec.Target.Mode, Duration: e.Spec.Duration.String()}
	for _, pr := range e.Spec.Probes {
		s.Probes = append(s.Probes, pr.Name)
	}
	return s
}
