// Package automation holds the wire types of the automation workflow: its
// settings, input and state (kill switch, circuit breaker, suppressed
// runs) and the pause and resume request. It holds no workflow code.
package automation

import (
	"time"

	"github.com/firebreak-ops/firebreak/internal/source"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// AutomationSettings configure the circuit breaker.
type AutomationSettings struct {
	// Failures within Window open the circuit.
	Failures int             `json:"failures"`
	Window   source.Duration `json:"window"`
	// PageRoutingKey, when set, pages through PagerDuty when the circuit
	// opens.
	PageRoutingKey string `json:"pageRoutingKey,omitempty"`
}

// AutomationInput starts (or continues) the automation workflow.
type AutomationInput struct {
	Settings AutomationSettings `json:"settings"`
	State    *AutomationState   `json:"state,omitempty"`
}

// AutomationState is the kill switch, the circuit breaker and the record
// of suppressed automatic runs.
type AutomationState struct {
	Paused      bool          `json:"paused"`
	PausedBy    string        `json:"pausedBy,omitempty"`
	PauseReason string        `json:"pauseReason,omitempty"`
	PausedAt    *time.Time    `json:"pausedAt,omitempty"`
	Circuit     CircuitState  `json:"circuit"`
	Suppressed  []Suppression `json:"suppressed"`
	// Totals since the workflow first started.
	Finished        int64 `json:"finished"`
	Failed          int64 `json:"failed"`
	SuppressedTotal int64 `json:"suppressedTotal"`
}

// Holding reports why new automatic runs are held back, or "".
func (s *AutomationState) Holding() string {
	switch {
	case s.Paused:
		reason := "automation paused"
		if s.PausedBy != "" {
			reason += " by " + s.PausedBy
		}
		if s.PauseReason != "" {
			reason += ": " + s.PauseReason
		}
		return reason
	case s.Circuit.Open:
		return "circuit open: " + s.Circuit.Reason
	}
	return ""
}

// CircuitState is the breaker over failing automatic runs.
type CircuitState struct {
	Open     bool                  `json:"open"`
	OpenedAt *time.Time            `json:"openedAt,omitempty"`
	Reason   string                `json:"reason,omitempty"`
	Failures []runwire.RunFinished `json:"recentFailures"`
}

// Suppression records an automatic run that was not started, and why.
type Suppression struct {
	At          time.Time `json:"at"`
	Source      string    `json:"source"`
	Runbook     string    `json:"runbook"`
	Key         string    `json:"key,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Reason      string    `json:"reason"`
}

// SwitchRequest pauses or resumes automation.
type SwitchRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}
