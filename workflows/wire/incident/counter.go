package incident

// IncidentCounterInput starts or continues the counter workflow.
type IncidentCounterInput struct {
	// Last is the last number handed out, by year.
	Last map[int]int `json:"last,omitempty"`
	// Keys remembers the number given for recent idempotency keys, oldest
	// first.
	Keys []AllocatedKey `json:"keys,omitempty"`
}

// AllocatedKey is an idempotency key and the ID it was given.
type AllocatedKey struct {
	Key string `json:"key"`
	ID  string `json:"id"`
}

// AllocateRequest asks for the next incident number of a year.
type AllocateRequest struct {
	Year int `json:"year"`
	// Key, when set, makes the allocation idempotent: the same key gets
	// the same ID (a retried runbook step declares one incident).
	Key string `json:"key,omitempty"`
}
