package chaos

import (
	"slices"
	"testing"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/experiments/plan"
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

// TestProbeSecretHeaders: an HTTP probe's header with a secret reference
// goes to the activity as its canonical marker, with its path listed for
// the activity to resolve; other headers are listed nowhere.
func TestProbeSecretHeaders(t *testing.T) {
	p := &plan.Probe{Name: "api", HTTP: &plan.HTTPProbe{URL: "https://api/health", Headers: map[string]string{
		"Authorization": `Bearer ${{secret('checkout-api')}}`, "X-Key": `${{ secret("api-key") }}`, "Accept": "application/json",
	}}}
	action, with, refs := probeAction(p)
	h := with["headers"].(map[string]any)
	if action != actions.HTTPRequest || h["Authorization"] != `Bearer ${{ secret("checkout-api") }}` || h["Accept"] != "application/json" {
		t.Fatalf("%s %v", action, with)
	}
	if len(refs) != 2 || refs[0].String() != "headers.Authorization" || refs[1].String() != "headers.X-Key" {
		t.Fatalf("refs %v", refs)
	}
}
