package runbook_test

import (
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/egress"
	"github.com/firebreak-ops/firebreak/internal/egress/egresstest"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const fetch = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: fetch}
spec:
  params:
    - {name: target, type: string, required: true}
  steps:
    - name: fetch
      action: http.request
      with: {url: "http://${{ params.target }}/latest/meta-data/iam/security-credentials/"}
    - name: after
      action: log
      with: {message: fetched}
`

// TestEgressRefusedInRun: an http.request step whose URL an alert's label
// pointed at cloud metadata fails, real or dry, with an error naming the
// rule; the dry run says the policy would refuse it. The dialer fails the
// test if anything asks it to connect off loopback.
func TestEgressRefusedInRun(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		dryRun       bool
		want         string
	}{
		{name: "dry run, literal", target: "169.254.169.254", dryRun: true,
			want: `dry run: the egress policy would refuse GET http://169.254.169.254/latest/meta-data/iam/security-credentials/: egress: 169.254.169.254 denied by rule "cloud metadata (default)"`},
		{name: "dry run, name resolving to metadata", target: "rebind.test", dryRun: true,
			want: `egress: rebind.test (169.254.169.254) denied by rule "cloud metadata (default)"`},
		{name: "real run", target: "169.254.169.254",
			want: `egress: 169.254.169.254 denied by rule "cloud metadata (default)"`},
		{name: "real run, link-local", target: "169.254.3.4:8080",
			want: `egress: 169.254.3.4 denied by rule "link-local (default)"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &egresstest.Dialer{T: t}
			p := egress.Default()
			p.Resolver = egresstest.Resolver{"rebind.test": {"169.254.169.254"}}
			p.Dial = d.DialContext
			h := newHarnessDeps(t, activities.Deps{Egress: p}, false)
			h.run(load(t, fetch), map[string]any{"target": tc.target}, tc.dryRun)
			st := h.state()
			step := stepByName(st, "fetch")
			if st.Status != runwire.StatusFailed || step.Status != runwire.StepFailed || !strings.Contains(step.Error, tc.want) {
				t.Fatalf("run %s, step %s: %q, want %q", st.Status, step.Status, step.Error, tc.want)
			}
			if step.Attempts != 1 {
				t.Errorf("refusal tried %d times", step.Attempts)
			}
			if got := d.Dialed(); len(got) != 0 {
				t.Fatalf("asked to connect to %v", got)
			}
		})
	}
}

// TestDryRunBeforeEgressCheck: a dry run that began before http.request
// could dry-run itself still only describes the step on replay.
func TestDryRunBeforeEgressCheck(t *testing.T) {
	h := newHarness(t)
	h.OnGetVersion("http-request-dry-run", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	h.run(approvingRunbook(t, "abort"), nil, true)
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if calls, dry := h.rec.Calls(), h.rec.DryCalls(); len(calls)+len(dry) != 0 {
		t.Fatalf("calls %v, dry-run calls %v", calls, dry)
	}
	out, _ := stepByName(h.state(), "first").Output.(map[string]any)
	if out["dryRun"] != true || out["wouldRun"] != actions.HTTPRequest || out["with"] == nil {
		t.Fatalf("dry-run output %v", out)
	}
}
