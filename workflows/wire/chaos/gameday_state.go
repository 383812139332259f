package chaos

import (
	"strconv"
	"time"

	"github.com/firebreak-ops/firebreak/experiments/plan"
)

// GameDayInput starts a game day run: the game day and the experiments it
// names, as the catalog had them when the schedule was written.
type GameDayInput struct {
	GameDay     *plan.GameDay               `json:"gameDay"`
	Experiments map[string]*plan.Experiment `json:"experiments"`
	DryRun      bool                        `json:"dryRun,omitempty"`
	Escalation  Escalation                  `json:"escalation"`
	RequestedBy string                      `json:"requestedBy,omitempty"`
}

// GameDayResult is one experiment's outcome within a game day.
type GameDayResult struct {
	Experiment string `json:"experiment"`
	RunID      string `json:"runId,omitempty"`
	Verdict    string `json:"verdict"`
	Reason     string `json:"reason,omitempty"`
	Weight     int    `json:"weight"`
}

// Skipped marks experiments a game day did not run.
const VerdictSkipped = "skipped"

// GameDayState is a game day run as the status query reports it.
type GameDayState struct {
	ID      string          `json:"id"`
	GameDay string          `json:"gameDay"`
	Status  string          `json:"status"`
	DryRun  bool            `json:"dryRun,omitempty"`
	Results []GameDayResult `json:"results"`
	// Score is the resilience score: the weighted share of experiments
	// that passed, 0–100.
	Score     float64    `json:"score"`
	Stopped   string     `json:"stopped,omitempty"`
	StartedAt time.Time  `json:"startedAt"`
	EndedAt   *time.Time `json:"endedAt,omitempty"`
	// Runs holds each experiment run's final state, for the report.
	Runs map[string]*ExperimentState `json:"runs,omitempty"`
}

// ResilienceScore is the weighted share of passed experiments, 0–100: each
// experiment counts 100 when it passed and 0 otherwise, weighted by its
// weight, as Litmus scores a workflow from its plan.
func ResilienceScore(results []GameDayResult) float64 {
	var sum, weights float64
	for _, r := range results {
		w := float64(r.Weight)
		weights += w
		if r.Verdict == VerdictPassed {
			sum += 100 * w
		}
	}
	if weights == 0 {
		return 0
	}
	return sum / weights
}

// GameDaySummary is a short text report of a finished game day.
func GameDaySummary(st *GameDayState) string {
	out := ":game_die: Game day *" + st.GameDay + "*: resilience score *" + strconv.Itoa(int(st.Score+0.5)) + "%*"
	if st.Stopped != "" {
		out += " (" + st.Stopped + ")"
	}
	for _, r := range st.Results {
		out += "\n• " + r.Experiment + ": " + r.Verdict
		if r.Reason != "" {
			out += " — " + r.Reason
		}
	}
	return out
}
