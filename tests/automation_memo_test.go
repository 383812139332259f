package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/router"
	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// TestPauseSeenByEveryInstance: a pause made through one API instance
// holds alerts back on another within a second. The other instance reads
// the automation workflow's memo (no worker involved), which is what keeps
// the alert path from timing out on a query while workers are busy.
func TestPauseSeenByEveryInstance(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	one := testenv.StartFirebreak(t, eng, testenv.Options{})
	two := testenv.StartFirebreak(t, eng, testenv.Options{Role: app.RoleAPI})
	a1, a2 := &api{t: t, base: one.URL}, &api{t: t, base: two.URL}
	if code := a1.do("POST", "/v1/automation/pause", map[string]string{"by": "alice", "reason": "maintenance"}, nil); code != 200 {
		t.Fatalf("pause: %d", code)
	}
	desc, err := one.Client.DescribeWorkflowExecution(context.Background(), names.AutomationWorkflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	var holding string
	if p := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[names.HoldingMemo]; p == nil || converter.GetDefaultDataConverter().FromPayload(p, &holding) != nil || holding != "automation paused by alice: maintenance" {
		t.Fatalf("memo %q, want the pause", holding)
	}
	crash := notification("firing", amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "memo"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, resp := a2.notify(crash)
		if code == 200 && resp.Counts[router.Suppressed] == 1 && strings.Contains(resp.Outcomes[0].Reason, "automation paused by alice") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other instance still starts runs 5 s after the pause: %d %+v", code, resp)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := a2.do("POST", "/v1/automation/resume", map[string]string{"by": "alice"}, nil); code != 200 {
		t.Fatalf("resume: %d", code)
	}
	// Another target: the first may have started a run (and its cooldown)
	// in the moment before the pause reached the other instance.
	crash = notification("firing", amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "memo-2"))
	deadline = time.Now().Add(5 * time.Second)
	for {
		code, resp := a1.notify(crash)
		if code == 200 && resp.Counts[router.Started] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first instance still holds alerts back 5 s after the resume: %d %+v", code, resp)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
