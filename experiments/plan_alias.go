package experiments

import "github.com/firebreak-ops/firebreak/experiments/plan"

// The definition types live in experiments/plan, which the workflows
// import; these names keep them reachable from here.
type (
	Experiment   = plan.Experiment
	Metadata     = plan.Metadata
	Spec         = plan.Spec
	Access       = plan.Access
	Target       = plan.Target
	BlastRadius  = plan.BlastRadius
	Fault        = plan.Fault
	Probe        = plan.Probe
	PromProbe    = plan.PromProbe
	HTTPProbe    = plan.HTTPProbe
	KubeProbe    = plan.KubeProbe
	Context      = plan.Context
	FreezeWindow = plan.FreezeWindow
	GameDay      = plan.GameDay
	GameDaySpec  = plan.GameDaySpec
	Group        = plan.Group
	Plan         = plan.Plan
	Summary      = plan.Summary
)

// Format identifiers, defaults, selector modes, probe kinds and CEL names,
// as experiments/plan defines them.
const (
	APIVersion     = plan.APIVersion
	KindExperiment = plan.KindExperiment
	KindGameDay    = plan.KindGameDay

	DefaultInterval        = plan.DefaultInterval
	DefaultInjectTimeout   = plan.DefaultInjectTimeout
	DefaultRecoveryTimeout = plan.DefaultRecoveryTimeout
	DefaultWeight          = plan.DefaultWeight
	DefaultCatchupWindow   = plan.DefaultCatchupWindow

	ModeOne              = plan.ModeOne
	ModeFixed            = plan.ModeFixed
	ModeFixedPercent     = plan.ModeFixedPercent
	ModeRandomMaxPercent = plan.ModeRandomMaxPercent
	ModeAll              = plan.ModeAll

	ProbePrometheus = plan.ProbePrometheus
	ProbeHTTP       = plan.ProbeHTTP
	ProbeKubernetes = plan.ProbeKubernetes

	VarProbes  = plan.VarProbes
	VarElapsed = plan.VarElapsed
	VarContext = plan.VarContext

	CtxOpenIncidents = plan.CtxOpenIncidents
	CtxInFreeze      = plan.CtxInFreeze
	CtxFreezeWindows = plan.CtxFreezeWindows
	CtxErrorBudget   = plan.CtxErrorBudget
	CtxNow           = plan.CtxNow
)

// FaultKinds lists the Chaos Mesh kinds an experiment may use, sorted.
func FaultKinds() []string { return plan.FaultKinds() }
