package experiments

import (
	"sort"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/experiments/plan"
)

func TestBuiltin(t *testing.T) {
	c, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if c.Len() != 2 || len(c.GameDays()) != 1 {
		t.Fatalf("catalog has %d experiments, %d game days", c.Len(), len(c.GameDays()))
	}
	p, _ := c.Get("pod-kill-checkout")
	t.Logf("%s", p.Spec)
}

// TestFaultKinds checks that every kind the format accepts has its Chaos
// Mesh type here, and no other.
func TestFaultKinds(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []string
	}{
		{"plan.FaultKinds", plan.FaultKinds()},
		{"faultSpecs", sortedKeys(faultSpecs)},
	} {
		if strings.Join(tc.got, ",") != "HTTPChaos,IOChaos,NetworkChaos,PodChaos,StressChaos" {
			t.Errorf("%s = %v", tc.name, tc.got)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
