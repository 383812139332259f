package chaosmesh_test

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
)

// TestRegister runs the activities through Temporal's test environment by
// their action names, and checks that permanent errors are non-retryable.
func TestRegister(t *testing.T) {
	k := cluster(t)
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	chaosmesh.NewFromREST(k.Config).Register(env)
	o := obj("PodChaos", "default", "registered")

	val, err := env.ExecuteActivity(actions.ChaosStatus, o)
	if err != nil {
		t.Fatal(err)
	}
	var st actions.ChaosState
	if err := val.Get(&st); err != nil || st.Exists {
		t.Fatalf("status: %+v %v", st, err)
	}
	if _, err := env.ExecuteActivity(actions.ChaosDelete, o); err != nil {
		t.Fatalf("delete: %v", err)
	}
	val, err = env.ExecuteActivity(actions.ChaosAwait, actions.ChaosAwaitRequest{Object: o, Until: actions.UntilGone, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var res actions.ChaosAwaitResult
	if err := val.Get(&res); err != nil || !res.Reached {
		t.Fatalf("await: %+v %v", res, err)
	}

	for name, arg := range map[string]any{
		actions.ChaosCreate: createReq(obj("NoSuchChaos", "default", "x"), "r", `{}`),
		actions.ChaosAwait:  actions.ChaosAwaitRequest{Object: o, Until: "forever"},
		actions.ChaosDelete: obj("PodChaos", "", "x"),
	} {
		_, err := env.ExecuteActivity(name, arg)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != actions.ErrTypeFailed {
			t.Errorf("%s: want a non-retryable %s error, got %v", name, actions.ErrTypeFailed, err)
		}
	}
}
