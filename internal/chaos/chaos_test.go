package chaos

import (
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/access"
)

func TestMayInject(t *testing.T) {
	newPlan := func(access ...string) *plan.Plan {
		src := `apiVersion: firebreak/v1
kind: Experiment
metadata: {name: kill}
spec:
  target: {namespaces: [prod], selector: {app: api}}
  blastRadius: {namespaces: [prod]}
  fault: {kind: PodChaos, spec: {action: pod-kill}}
  duration: 1m
`
		if len(access) > 0 {
			src += "  access: {run: [" + strings.Join(access, ", ") + "]}\n"
		}
		plans, _, err := experiments.Load("x.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return plans[0]
	}
	alice := &access.Principal{ID: "alice", Groups: []string{"sre"}}
	bob := &access.Principal{ID: "bob"}
	for _, tc := range []struct {
		name string
		plan *plan.Plan
		p    *access.Principal
		dry  bool
		want string
	}{
		{"operator token", newPlan(), nil, false, ""},
		{"dry run by anyone", newPlan(), bob, true, ""},
		{"nobody listed", newPlan(), alice, false, "lists nobody in spec.access.run"},
		{"listed by name", newPlan("alice"), alice, false, ""},
		{"listed by group", newPlan("'@sre'"), alice, false, ""},
		{"not listed", newPlan("'@sre'"), bob, false, "bob may not inject kill (spec.access.run: @sre); a dry run is allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mayInject(tc.plan, tc.p, tc.dry)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if tc.want != "" && !access.Is(err, access.Forbidden) {
				t.Errorf("error %v, want Forbidden", err)
			}
		})
	}
}
