// Package access holds what every domain package shares about a request:
// who asks (Principal), what went wrong (Error and its Kind), and how
// Temporal's answers become such errors. Transports turn a Kind into their
// own status: an HTTP code, a Slack reply.
package access

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/codec"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// Kind classifies errors so transports can pick a status code.
type Kind int

// Error kinds.
const (
	Invalid Kind = iota + 1
	NotFound
	Conflict
	Forbidden
	Unavailable
	// Busy: Temporal is reachable but did not answer within the
	// request's budget; retrying later is safe.
	Busy
)

// Error is an error meant for the caller, naming the field at fault where
// there is one.
type Error struct {
	Kind  Kind
	Field string
	Msg   string
	// Cause is the underlying error, for logs only: its text can name
	// internal addresses, so transports never show it to callers.
	Cause error
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// Errorf returns an Error of the kind, about the field, with a formatted
// message.
func Errorf(kind Kind, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Is reports whether err is an Error of the kind.
func Is(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// Principal is an authenticated person asking for something.
type Principal struct {
	ID     string
	Name   string
	Groups []string
	Source string
}

// DisplayName is the principal as messages name them: "name (id)", or
// the ID alone.
func (p *Principal) DisplayName() string {
	if p.Name != "" && p.Name != p.ID {
		return p.Name + " (" + p.ID + ")"
	}
	return p.ID
}

// TemporalError classifies Temporal's failures to answer: out of reach
// (its frontend refuses or is down) is Unavailable; too slow (a deadline
// passed, or it shed load) is Busy. Any other error is returned as it is.
// A deadline can also pass while the SDK retries an unreachable server;
// transports that must tell the two apart ask Temporal's health (see
// ingress.API.Error).
func TemporalError(err error) error {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	var exhausted *serviceerror.ResourceExhausted
	if text, ok := codec.KeyErrorText(err); ok {
		// The payload key is wrong or missing: say which; it names ids only.
		return &Error{Kind: Unavailable, Msg: "stored data cannot be decrypted: " + text, Cause: err}
	}
	switch {
	case errors.As(err, &unavailable):
		return &Error{Kind: Unavailable, Msg: "temporal is unavailable; retry later", Cause: err}
	case errors.As(err, &deadline), errors.As(err, &exhausted), errors.Is(err, context.DeadlineExceeded):
		return &Error{Kind: Busy, Msg: "temporal did not answer in time; retry", Cause: err}
	}
	return err
}

// RunError maps Temporal's answers about a run (or another workflow run by
// ID) to errors: a workflow's rejection by its type, a missing or finished
// workflow, Temporal out of reach.
func RunError(id string, err error) error {
	var nf *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr):
		switch appErr.Type() {
		case runwire.RejectUnknownStep:
			return Errorf(NotFound, "step", "%s", appErr.Message())
		case runwire.RejectNotWaiting:
			return Errorf(Conflict, "step", "%s", appErr.Message())
		case runwire.RejectNotAllowed:
			return Errorf(Forbidden, "by", "%s", appErr.Message())
		case runwire.RejectInvalid:
			return Errorf(Invalid, "", "%s", appErr.Message())
		}
		return Errorf(Invalid, "", "%s", appErr.Message())
	case errors.As(err, &nf):
		if strings.Contains(nf.Error(), "already completed") {
			return Errorf(Conflict, "", "run %s has already finished", id)
		}
		return Errorf(NotFound, "id", "no run %q", id)
	}
	return TemporalError(err)
}
