package access

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/codec"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRunError(t *testing.T) {
	other := errors.New("boom")
	for _, tc := range []struct {
		name string
		err  error
		kind Kind
		msg  string
	}{
		{"unknown step", temporal.NewApplicationError("no step x", runwire.RejectUnknownStep), NotFound, "no step x"},
		{"not waiting", temporal.NewApplicationError("decided", runwire.RejectNotWaiting), Conflict, "decided"},
		{"not allowed", temporal.NewApplicationError("not you", runwire.RejectNotAllowed), Forbidden, "not you"},
		{"other rejection", temporal.NewApplicationError("bad", "Whatever"), Invalid, "bad"},
		{"finished", serviceerror.NewNotFound("workflow execution already completed"), Conflict, "run r has already finished"},
		{"missing", serviceerror.NewNotFound("workflow not found"), NotFound, `no run "r"`},
		{"unavailable", serviceerror.NewUnavailable("down"), Unavailable, "temporal is unavailable; retry later"},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), Busy, "temporal did not answer in time; retry"},
		{"server deadline", serviceerror.NewDeadlineExceeded("slow"), Busy, "temporal did not answer in time; retry"},
		{"shedding load", serviceerror.NewResourceExhausted(0, "busy"), Busy, "temporal did not answer in time; retry"},
		{"other", other, 0, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := RunError("r", tc.err)
			var e *Error
			if tc.kind == 0 {
				if !errors.Is(err, other) || errors.As(err, &e) {
					t.Fatalf("got %#v, want the error unchanged", err)
				}
				return
			}
			if !errors.As(err, &e) || e.Kind != tc.kind || e.Msg != tc.msg {
				t.Fatalf("got %#v, want kind %d %q", err, tc.kind, tc.msg)
			}
			if !Is(err, tc.kind) {
				t.Errorf("Is(%v, %d) = false", err, tc.kind)
			}
		})
	}
}

func TestDisplayName(t *testing.T) {
	for _, tc := range []struct {
		p    Principal
		want string
	}{
		{Principal{ID: "U0ALICE", Name: "alice"}, "alice (U0ALICE)"},
		{Principal{ID: "alice", Name: "alice"}, "alice"},
		{Principal{ID: "bob"}, "bob"},
	} {
		if got := tc.p.DisplayName(); got != tc.want {
			t.Errorf("DisplayName(%+v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestKeyErrorsAreClear: a payload key error that crossed gRPC as a status
// reaches the caller as its own text, as Unavailable.
func TestKeyErrorsAreClear(t *testing.T) {
	ke := &codec.KeyError{KeyID: "k1", Held: []string{"k2"}}
	for _, err := range []error{ke, status.Error(codes.FailedPrecondition, ke.Error())} {
		var e *Error
		if !errors.As(TemporalError(err), &e) || e.Kind != Unavailable || e.Msg != "stored data cannot be decrypted: "+ke.Error() {
			t.Errorf("%v → %+v", err, e)
		}
	}
}
