package actions

import (
	"encoding/json"
	"time"
)

// Chaos Mesh activities. Experiments call them with the typed requests
// below rather than through a runbook's with: map.
const (
	ChaosCreate = "chaos.create"
	ChaosStatus = "chaos.status"
	ChaosDelete = "chaos.delete"
	ChaosAwait  = "chaos.await"
)

// ChaosObject names one Chaos Mesh resource.
type ChaosObject struct {
	// Kind is a Chaos Mesh kind such as PodChaos.
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// ChaosCreateRequest creates a Chaos Mesh resource. Creating one that
// already exists with the same run label succeeds, so a retried activity is
// harmless.
type ChaosCreateRequest struct {
	Object      ChaosObject       `json:"object"`
	Spec        json.RawMessage   `json:"spec"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
	// DryRun asks the API server to validate without persisting.
	DryRun bool `json:"dryRun,omitempty"`
}

// ChaosCreateResult describes the created (or dry-run) resource.
type ChaosCreateResult struct {
	// Manifest is the resource as YAML, as the API server accepted it.
	Manifest string `json:"manifest"`
	UID      string `json:"uid,omitempty"`
	// Existed is true when the resource was already there.
	Existed bool `json:"existed,omitempty"`
}

// ChaosRecord is one injection target Chaos Mesh reports in
// status.experiment.containerRecords.
type ChaosRecord struct {
	// ID is Chaos Mesh's record id, namespace/name for pods.
	ID             string `json:"id"`
	Namespace      string `json:"namespace"`
	Name           string `json:"name"`
	Phase          string `json:"phase"`
	InjectedCount  int    `json:"injectedCount"`
	RecoveredCount int    `json:"recoveredCount"`
}

// ChaosState is what Firebreak reads back from a Chaos Mesh resource.
type ChaosState struct {
	Exists       bool          `json:"exists"`
	Deleting     bool          `json:"deleting,omitempty"`
	AllInjected  bool          `json:"allInjected"`
	AllRecovered bool          `json:"allRecovered"`
	Paused       bool          `json:"paused,omitempty"`
	Records      []ChaosRecord `json:"records,omitempty"`
	Finalizers   []string      `json:"finalizers,omitempty"`
}

// Conditions ChaosAwaitRequest can wait for.
const (
	UntilInjected  = "injected"  // AllInjected is true
	UntilRecovered = "recovered" // AllRecovered is true, or the resource is gone
	UntilGone      = "gone"      // the resource no longer exists
	// UntilRestored: the resource no longer exists, and its Targets that
	// still exist carry nothing of its fault: a PodChaos pod-failure that
	// Chaos Mesh left on a pod (overlapping pod-failures restore each
	// other's pause image) is repaired from the pod's ReplicaSet template.
	UntilRestored = "restored"
)

// ChaosAwaitRequest waits, heartbeating, until a resource reaches a
// condition or Timeout passes.
type ChaosAwaitRequest struct {
	Object  ChaosObject   `json:"object"`
	Until   string        `json:"until"`
	Timeout time.Duration `json:"timeout"`
	// Poll is the polling interval; 0 means 250ms.
	Poll time.Duration `json:"poll,omitempty"`
	// Targets are the records the resource reported while injected, for
	// UntilRestored.
	Targets []ChaosRecord `json:"targets,omitempty"`
}

// ChaosAwaitResult says whether the condition was reached; a timeout is not
// an error, it is Reached false with the last state seen.
type ChaosAwaitResult struct {
	Reached bool       `json:"reached"`
	State   ChaosState `json:"state"`
	// Repaired lists the targets (namespace/name) UntilRestored found with
	// the fault left on them and repaired.
	Repaired []string `json:"repaired,omitempty"`
}

// ExperimentContext gathers what an experiment's preconditions read that
// only Firebreak itself knows, such as how many incidents are open.
const ExperimentContext = "experiment.context"

// ExperimentContextResult answers ExperimentContext.
type ExperimentContextResult struct {
	OpenIncidents int `json:"openIncidents"`
}

// chaosActivities are what experiment workflows call, with the typed
// requests above.
var chaosActivities = []Spec{
	{
		Name:        ChaosCreate,
		Description: "Create a Chaos Mesh resource (ChaosCreateRequest); a dry run asks the API server to validate it without persisting.",
		Mutating:    true,
		DryRun:      true,
		Internal:    true,
	},
	{
		Name:        ChaosStatus,
		Description: "Read a Chaos Mesh resource's injection state (ChaosObject).",
		Internal:    true,
	},
	{
		Name:        ChaosDelete,
		Description: "Delete a Chaos Mesh resource, rolling its fault back (ChaosObject).",
		Mutating:    true,
		Internal:    true,
	},
	{
		Name:        ChaosAwait,
		Description: "Wait until a Chaos Mesh resource is injected, recovered or gone (ChaosAwaitRequest).",
		Internal:    true,
	},
	{
		Name:        ExperimentContext,
		Description: "Count open incidents for an experiment's preconditions.",
		Internal:    true,
	},
}
