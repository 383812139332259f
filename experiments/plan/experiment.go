package plan

import (
	"encoding/json"

	"github.com/firebreak-ops/firebreak/internal/source"
)

// Format identifiers.
const (
	APIVersion     = "firebreak/v1"
	KindExperiment = "Experiment"
	KindGameDay    = "GameDay"
)

// Experiment is one chaos experiment file as written.
type Experiment struct {
	APIVersion string           `yaml:"apiVersion" json:"apiVersion"`
	Kind       string           `yaml:"kind" json:"kind"`
	Metadata   Metadata         `yaml:"metadata" json:"metadata"`
	Spec       Spec             `yaml:"spec" json:"spec"`
	File       string           `yaml:"-" json:"-"`
	Pos        source.Positions `yaml:"-" json:"-"`
}

// Name returns metadata.name.
func (e *Experiment) Name() string { return e.Metadata.Name }

// Metadata names and describes an experiment or a game day.
type Metadata struct {
	Name        string            `yaml:"name" json:"name"`
	Description string            `yaml:"description" json:"description,omitempty"`
	Labels      map[string]string `yaml:"labels" json:"labels,omitempty"`
	Pos         source.Positions  `yaml:"-" json:"-"`
}

// Spec is what an experiment injects, watches and expects.
type Spec struct {
	Target        Target        `yaml:"target" json:"target"`
	BlastRadius   BlastRadius   `yaml:"blastRadius" json:"blastRadius"`
	Fault         Fault         `yaml:"fault" json:"fault"`
	Probes        []Probe       `yaml:"probes" json:"probes,omitempty"`
	SteadyState   source.Expr   `yaml:"steadyState" json:"steadyState,omitempty"`
	AbortWhen     source.Expr   `yaml:"abortWhen" json:"abortWhen,omitempty"`
	Context       *Context      `yaml:"context" json:"context,omitempty"`
	Preconditions []source.Expr `yaml:"preconditions" json:"preconditions,omitempty"`
	// Duration is how long the fault stays injected.
	Duration source.Duration `yaml:"duration" json:"duration"`
	// Interval is how often probes run and abortWhen is checked.
	Interval source.Duration `yaml:"interval" json:"interval,omitempty"`
	// InjectTimeout bounds the wait for Chaos Mesh to report AllInjected.
	InjectTimeout source.Duration `yaml:"injectTimeout" json:"injectTimeout,omitempty"`
	// RecoveryTimeout bounds the wait for the fault to be gone after
	// rollback; past it the run escalates and needs attention.
	RecoveryTimeout source.Duration `yaml:"recoveryTimeout" json:"recoveryTimeout,omitempty"`
	// Weight counts this experiment in a game day's resilience score.
	Weight int            `yaml:"weight" json:"weight,omitempty"`
	Notify *source.Notify `yaml:"notify" json:"notify,omitempty"`
	// Access lists who may run the experiment for real when the API knows
	// its callers (principals); dry runs are open to everyone.
	Access *Access          `yaml:"access" json:"access,omitempty"`
	Pos    source.Positions `yaml:"-" json:"-"`
}

// Access lists principals: user names or IDs and @groups.
type Access struct {
	Run []string         `yaml:"run" json:"run,omitempty"`
	Pos source.Positions `yaml:"-" json:"-"`
}

// Target selects the pods a fault may touch.
type Target struct {
	Namespaces []string          `yaml:"namespaces" json:"namespaces"`
	Selector   map[string]string `yaml:"selector" json:"selector,omitempty"`
	// Mode is Chaos Mesh's selector mode: one, fixed, fixed-percent,
	// random-max-percent or all.
	Mode string `yaml:"mode" json:"mode"`
	// Value is the count (fixed) or percentage (the percent modes).
	Value string           `yaml:"value" json:"value,omitempty"`
	Pos   source.Positions `yaml:"-" json:"-"`
}

// BlastRadius is the policy the target must stay within, checked at load
// against the target and at run time against the pods Chaos Mesh reports.
type BlastRadius struct {
	Namespaces []string `yaml:"namespaces" json:"namespaces"`
	// MaxMode is the widest selector mode allowed (default one).
	MaxMode string `yaml:"maxMode" json:"maxMode,omitempty"`
	// MaxPods caps how many pods may be injected (fixed mode and at run time).
	MaxPods int `yaml:"maxPods" json:"maxPods,omitempty"`
	// MaxPercent caps the percent modes' value.
	MaxPercent int `yaml:"maxPercent" json:"maxPercent,omitempty"`
	// AllowAll permits mode all.
	AllowAll    bool             `yaml:"allowAll" json:"allowAll,omitempty"`
	MaxDuration source.Duration  `yaml:"maxDuration" json:"maxDuration,omitempty"`
	Pos         source.Positions `yaml:"-" json:"-"`
}

// Fault is a Chaos Mesh kind and its spec, without selector, mode, value
// and duration, which come from target and duration.
type Fault struct {
	Kind string `json:"kind"`
	// Spec is the fault's spec as JSON, exactly as written.
	Spec json.RawMessage `json:"spec"`
	// Rendered is the Chaos Mesh spec to create: Spec with selector, mode,
	// value and duration filled in, after Chaos Mesh's own defaulting and
	// validation. The experiments package renders it when the file loads,
	// so it travels to the workflow as plain data.
	Rendered json.RawMessage  `json:"rendered,omitempty"`
	Pos      source.Positions `json:"-"`
	// specPos maps spec keys (dotted) to positions for errors.
	specPos map[string]source.Pos
}

// Probe is one named measurement. Exactly one source is set.
type Probe struct {
	Name       string           `yaml:"name" json:"name"`
	Prometheus *PromProbe       `yaml:"prometheus" json:"prometheus,omitempty"`
	HTTP       *HTTPProbe       `yaml:"http" json:"http,omitempty"`
	Kubernetes *KubeProbe       `yaml:"kubernetes" json:"kubernetes,omitempty"`
	Pos        source.Positions `yaml:"-" json:"-"`
}

// Probe kinds.
const (
	ProbePrometheus = "prometheus"
	ProbeHTTP       = "http"
	ProbeKubernetes = "kubernetes"
)

// Kind names the probe's source.
func (p *Probe) Kind() string {
	switch {
	case p.Prometheus != nil:
		return ProbePrometheus
	case p.HTTP != nil:
		return ProbeHTTP
	case p.Kubernetes != nil:
		return ProbeKubernetes
	}
	return ""
}

// PromProbe is an instant PromQL query; its value is the first sample's
// value, NaN when the result is empty.
type PromProbe struct {
	Query string           `yaml:"query" json:"query"`
	Pos   source.Positions `yaml:"-" json:"-"`
}

// HTTPProbe is an HTTP request; its value is {status, ok, latencyMs}.
type HTTPProbe struct {
	URL     string            `yaml:"url" json:"url"`
	Method  string            `yaml:"method" json:"method,omitempty"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	Timeout source.Duration   `yaml:"timeout" json:"timeout,omitempty"`
	Pos     source.Positions  `yaml:"-" json:"-"`
}

// KubeProbe reads one Kubernetes object; its value is the object.
type KubeProbe struct {
	APIVersion string           `yaml:"apiVersion" json:"apiVersion"`
	Kind       string           `yaml:"kind" json:"kind"`
	Namespace  string           `yaml:"namespace" json:"namespace,omitempty"`
	Name       string           `yaml:"name" json:"name"`
	Pos        source.Positions `yaml:"-" json:"-"`
}

// Context declares what preconditions can see besides open incidents.
type Context struct {
	// FreezeWindows are recurring periods in which no experiment runs.
	FreezeWindows []FreezeWindow `yaml:"freezeWindows" json:"freezeWindows,omitempty"`
	// ErrorBudget is a PromQL query whose value preconditions read as
	// context.errorBudget.
	ErrorBudget *PromProbe       `yaml:"errorBudget" json:"errorBudget,omitempty"`
	Pos         source.Positions `yaml:"-" json:"-"`
}

// FreezeWindow starts on a cron schedule and lasts Duration.
type FreezeWindow struct {
	Name     string           `yaml:"name" json:"name"`
	Schedule string           `yaml:"schedule" json:"schedule"`
	Duration source.Duration  `yaml:"duration" json:"duration"`
	Pos      source.Positions `yaml:"-" json:"-"`
}

// Defaults.
const (
	DefaultInterval        = source.Duration(15 * 1e9)
	DefaultInjectTimeout   = source.Duration(60 * 1e9)
	DefaultRecoveryTimeout = source.Duration(120 * 1e9)
	DefaultWeight          = 10
)
