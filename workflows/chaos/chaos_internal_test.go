package chaos

import (
	"slices"
	"testing"

	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// TestChaosViewLeavesStateAlone: the chaos query answers from a copy; a
// query handler that changed the state would make a worker that was asked
// and one that replays disagree.
func TestChaosViewLeavesStateAlone(t *testing.T) {
	st := &chaoswire.ChaosState{Halted: true, Reason: "SEV1"}
	v := chaosView(st, map[string]bool{"experiment:b": true, "experiment:a": true})
	if !slices.Equal(v.Running, []string{"experiment:a", "experiment:b"}) || !v.Halted {
		t.Fatalf("view %+v", v)
	}
	if st.Running != nil {
		t.Fatalf("the query changed the state: %+v", st)
	}
}
