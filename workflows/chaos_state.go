package workflows

import "time"

// ChaosHalt is the payload of names.ChaosHaltSignal and ChaosResumeSignal,
// whether sent to the chaos workflow or to one experiment.
type ChaosHalt struct {
	Reason string    `json:"reason,omitempty"`
	By     string    `json:"by,omitempty"`
	At     time.Time `json:"at,omitempty"`
}
