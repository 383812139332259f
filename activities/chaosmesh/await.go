package chaosmesh

import (
	"context"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/kubernetes"
)

// DefaultPoll is how often Await reads the resource when the request does
// not say.
const DefaultPoll = 250 * time.Millisecond

// Await polls a resource until it reaches the requested condition or the
// timeout passes, heartbeating the last state it saw. Timing out is not an
// error: the result says Reached false, with that state. Waiting for
// injection ends early, unreached, when the resource is gone, since it
// can then never be injected. Transient API errors are retried until the
// timeout.
func (a *Activities) Await(ctx context.Context, req actions.ChaosAwaitRequest) (actions.ChaosAwaitResult, error) {
	done, err := condition(req.Until)
	if err != nil {
		return actions.ChaosAwaitResult{}, err
	}
	if _, _, err := lookup(req.Object); err != nil {
		return actions.ChaosAwaitResult{}, err
	}
	if req.Timeout < 0 {
		return actions.ChaosAwaitResult{}, actions.Permanentf("chaos: await timeout %s is negative", req.Timeout)
	}
	poll := req.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	deadline := time.Now().Add(req.Timeout)
	var (
		last    actions.ChaosState
		seen    bool
		lastErr error
	)
	for {
		st, err := a.Status(ctx, req.Object)
		switch {
		case err == nil:
			last, seen, lastErr = st, true, nil
			kubernetes.Heartbeat(ctx, st)
			if done(st) {
				if req.Until != actions.UntilRestored {
					return actions.ChaosAwaitResult{Reached: true, State: st}, nil
				}
				repaired, err := a.restoreTargets(ctx, req.Targets)
				if err == nil {
					return actions.ChaosAwaitResult{Reached: true, State: st, Repaired: repaired}, nil
				}
				if actions.IsPermanent(err) {
					return actions.ChaosAwaitResult{}, err
				}
				lastErr = err
			}
			if req.Until == actions.UntilInjected && !st.Exists {
				return actions.ChaosAwaitResult{State: st}, nil
			}
		case actions.IsPermanent(err):
			return actions.ChaosAwaitResult{}, err
		default:
			lastErr = err
			kubernetes.Heartbeat(ctx)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			if !seen && lastErr != nil {
				return actions.ChaosAwaitResult{}, lastErr
			}
			return actions.ChaosAwaitResult{State: last}, nil
		}
		t := time.NewTimer(min(poll, wait))
		select {
		case <-ctx.Done():
			t.Stop()
			return actions.ChaosAwaitResult{}, ctx.Err()
		case <-t.C:
		}
	}
}

// condition returns the test for an await condition.
func condition(until string) (func(actions.ChaosState) bool, error) {
	switch until {
	case actions.UntilInjected:
		return func(s actions.ChaosState) bool { return s.Exists && s.AllInjected }, nil
	case actions.UntilRecovered:
		return func(s actions.ChaosState) bool { return !s.Exists || s.AllRecovered }, nil
	case actions.UntilGone, actions.UntilRestored:
		return func(s actions.ChaosState) bool { return !s.Exists }, nil
	}
	return nil, actions.Permanentf("chaos: await until %q: want %s, %s, %s or %s", until,
		actions.UntilInjected, actions.UntilRecovered, actions.UntilGone, actions.UntilRestored)
}
