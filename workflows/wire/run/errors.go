package run

// Error types the engine reports.
const (
	ErrTypeRunFailed      = "RunFailed"
	ErrTypeInvalidRunbook = "InvalidRunbook"
)

// Error types of rejected approvals, so callers can answer 404, 409 or 403.
const (
	RejectInvalid     = "InvalidApproval"
	RejectUnknownStep = "UnknownStep"
	RejectNotWaiting  = "NotWaiting"
	RejectNotAllowed  = "NotAllowed"
	// RejectRecorded turns away a refusal the run already recorded, or
	// one beyond the refusals it keeps.
	RejectRecorded = "AlreadyRecorded"
)
