// Package chaos holds the wire types of chaos engineering: the halt switch's
// state and signals, experiment runs (input, state, phases, verdicts) and
// game days (input, results, state, resilience score), with the pure
// helpers that name and summarise them. It holds no workflow code.
package chaos

import "time"

// ChaosHalt is the payload of names.ChaosHaltSignal and ChaosResumeSignal,
// whether sent to the chaos workflow or to one experiment.
type ChaosHalt struct {
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitempty"`
}

// ChaosInput starts (or continues) the chaos workflow.
type ChaosInput struct {
	State *ChaosState `json:"state,omitempty"`
}

// ChaosState is the chaos workflow's state: the halt switch and the
// experiments running now.
type ChaosState struct {
	Halted  bool       `json:"halted"`
	Reason  string     `json:"reason,omitempty"`
	By      string     `json:"by,omitempty"`
	At      *time.Time `json:"at,omitempty"`
	Running []string   `json:"running"`
	// Halts counts halts since the workflow first started.
	Halts int64 `json:"halts"`
}

// ExperimentRef names an experiment run in signals to the chaos workflow.
type ExperimentRef struct {
	ID string `json:"id"`
}
