package names

import "strings"

// Workflow types of chaos experiments and game days.
const (
	ExperimentWorkflow = "ExperimentWorkflow"
	GameDayWorkflow    = "GameDayWorkflow"
	ChaosWorkflow      = "ChaosWorkflow"
)

// ChaosWorkflowID is the one workflow per namespace that holds the chaos
// halt switch and knows every running experiment.
const ChaosWorkflowID = "firebreak:chaos"

// Signals, updates and queries of experiments and the chaos workflow.
const (
	// ChaosHaltSignal halts chaos: sent to the chaos workflow it halts every
	// running experiment and refuses new ones until resumed; sent to one
	// experiment it rolls that experiment back now.
	ChaosHaltSignal = "halt"
	// ChaosResumeSignal lifts a halt.
	ChaosResumeSignal = "resume"
	// ExperimentStartedSignal and ExperimentFinishedSignal tell the chaos
	// workflow which experiments are running.
	ExperimentStartedSignal  = "experiment-started"
	ExperimentFinishedSignal = "experiment-finished"
	// AbortSignal aborts one experiment: it rolls back and ends aborted.
	AbortSignal = "abort"
	// ChaosQuery returns the chaos workflow's state.
	ChaosQuery = "state"
)

// Labels and annotations on every Chaos Mesh resource Firebreak creates.
const (
	LabelManagedBy      = "app.kubernetes.io/managed-by"
	LabelManagedByValue = "firebreak"
	LabelRun            = "firebreak.dev/run"
	LabelExperiment     = "firebreak.dev/experiment"
	AnnotationRunID     = "firebreak.dev/run-id"
)

const experimentPrefix = "experiment:"
const gameDayPrefix = "gameday:"

// ExperimentRunID returns the workflow ID of an experiment run,
// experiment:<name>:<suffix>. Game days name their experiments' runs from
// a stable hash; the API draws a random suffix (internal/ids).
func ExperimentRunID(experiment, suffix string) string {
	return experimentPrefix + experiment + ":" + suffix
}

// IsExperimentWorkflowID reports whether id looks like an experiment run's ID.
func IsExperimentWorkflowID(id string) bool {
	return strings.HasPrefix(id, experimentPrefix) && strings.Count(id, ":") >= 2
}

// ExperimentOf returns the experiment name in an experiment run's ID.
func ExperimentOf(id string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(id, experimentPrefix), ":")
	return name
}

// GameDayScheduleID returns the ID of a game day's Temporal Schedule.
func GameDayScheduleID(gameDay string) string { return gameDayPrefix + gameDay }

// GameDayWorkflowID returns the workflow ID of a game day run,
// gameday:<name>:<suffix>; scheduled runs get the schedule's own IDs.
func GameDayWorkflowID(gameDay, suffix string) string {
	return gameDayPrefix + gameDay + ":" + suffix
}
