package slackmsg_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
	"github.com/firebreak-ops/firebreak/workflows/wire/run/runtest"
)

// checkLimits fails on anything Slack would refuse: more than 50 blocks,
// a header over 150 characters, a section over 3000, duplicate block IDs.
func checkLimits(t *testing.T, blocks []slackgo.Block) {
	t.Helper()
	if len(blocks) > 50 {
		t.Errorf("%d blocks, Slack takes 50", len(blocks))
	}
	ids := map[string]bool{}
	for _, b := range blocks {
		if id := b.ID(); id != "" {
			if ids[id] {
				t.Errorf("duplicate block_id %q", id)
			}
			ids[id] = true
		}
		switch x := b.(type) {
		case *slackgo.HeaderBlock:
			if n := utf8.RuneCountInString(x.Text.Text); n > 150 {
				t.Errorf("header of %d characters", n)
			}
		case *slackgo.SectionBlock:
			if n := utf8.RuneCountInString(x.Text.Text); n > 3000 {
				t.Errorf("section of %d characters", n)
			}
		}
	}
	if _, err := json.Marshal(slackgo.Blocks{BlockSet: blocks}); err != nil {
		t.Errorf("blocks do not marshal: %v", err)
	}
}

func text(blocks []slackgo.Block) string {
	var b strings.Builder
	for _, bl := range blocks {
		switch x := bl.(type) {
		case *slackgo.HeaderBlock:
			b.WriteString(x.Text.Text + "\n")
		case *slackgo.SectionBlock:
			b.WriteString(x.Text.Text + "\n")
		case *slackgo.ContextBlock:
			for _, el := range x.ContextElements.Elements {
				if tb, ok := el.(*slackgo.TextBlockObject); ok {
					b.WriteString(tb.Text + "\n")
				}
			}
		}
	}
	return b.String()
}

func buttons(blocks []slackgo.Block) []*slackgo.ButtonBlockElement {
	var out []*slackgo.ButtonBlockElement
	for _, bl := range blocks {
		if ab, ok := bl.(*slackgo.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				out = append(out, el.(*slackgo.ButtonBlockElement))
			}
		}
	}
	return out
}

func TestRunBlocks(t *testing.T) {
	at := func(min int) *time.Time {
		v := time.Date(2026, 11, 26, 3, min, 0, 0, time.UTC)
		return &v
	}
	for _, tc := range []struct {
		name    string
		state   func() *runwire.RunState
		uiURL   string
		want    []string
		notWant []string
		buttons bool
		// retryFrom is the step of the "Retry from" button, if any.
		retryFrom string
	}{
		{
			name:  "waiting for approval",
			state: runtest.WaitingApproval,
			uiURL: "http://ui.example/",
			want: []string{
				"⏸ hello-world — waiting for approval",
				"trigger: slack · requested by <@U0REQUEST> · run `runbook:hello-world:ops` · params: name=ops, times=5",
				"<http://ui.example/namespaces/default/workflows/runbook:hello-world:ops/history|history>",
				"✓ *greet* `log` — 400ms",
				"✓ *shout* `log` — 1.6s — _when: params.times &gt; 1 is true_",
				"⏸ *confirm* — waiting for approval",
				"· *settle*",
				"*⏸ Approval needed: confirm*\n>Greet ops more than three times?\nWho may approve: anyone allowed to approve this runbook\nDeadline: 03:15 UTC, then the run aborts",
			},
			notWant: []string{"dry run", "took"},
			buttons: true,
		},
		{
			name: "approvers listed",
			state: func() *runwire.RunState {
				st := runtest.WaitingApproval()
				st.DryRun = true
				st.Steps[2].Approval.Approvers = []string{"U0ALICE", "@oncall", "bob"}
				st.Steps[2].Approval.SeparateApprover = true
				st.Steps[2].Approval.OnTimeout = "continue"
				st.Steps[2].Approval.Deadline = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
				return st
			},
			want: []string{
				"Who may approve: <@U0ALICE>, @oncall, bob (not <@U0REQUEST>, who requested the run)",
				"Deadline: Nov 27 03:00 UTC, then the run continues without it",
				"*dry run*",
			},
			notWant: []string{"history"},
			buttons: true,
		},
		{
			name: "approved and finished",
			state: func() *runwire.RunState {
				st := runtest.WaitingApproval()
				st.Status = runwire.StatusSucceeded
				st.FinishedAt = at(4)
				c := &st.Steps[2]
				c.Status, c.FinishedAt = runwire.StepSucceeded, at(3)
				c.Approval.Decision, c.Approval.By, c.Approval.At, c.Approval.Comment = runwire.DecisionApproved, "U0APPROVE", at(3), "go <ahead> & greet"
				st.Steps[3].Status, st.Steps[3].StartedAt, st.Steps[3].FinishedAt = runwire.StepSucceeded, at(3), at(3)
				st.Steps[4].Status, st.Steps[4].StartedAt, st.Steps[4].FinishedAt = runwire.StepSucceeded, at(3), at(3)
				return st
			},
			want: []string{
				"✓ hello-world — succeeded",
				"✓ *confirm* — 2m58s — approved by <@U0APPROVE> at 03:03 UTC: go &lt;ahead&gt; &amp; greet",
				"took 4m0s",
			},
			notWant: []string{"Approval needed", "Who may approve"},
		},
		{
			name: "denied, failed, rolled back",
			state: func() *runwire.RunState {
				st := runtest.WaitingApproval()
				st.Status = runwire.StatusFailed
				st.Error = "step confirm: denied by U0APPROVE: not today"
				st.FinishedAt = at(5)
				st.Steps[0].Status = runwire.StepRolledBack
				st.Steps[1].Status = runwire.StepSkipped
				st.Steps[1].StartedAt, st.Steps[1].FinishedAt = nil, nil
				st.Steps[1].Decision = &runwire.Decision{Reason: "when: params.times > 1 is false"}
				c := &st.Steps[2]
				c.Status, c.FinishedAt, c.Error = runwire.StepFailed, at(3), "denied by U0APPROVE: not today"
				c.Approval.Decision, c.Approval.By, c.Approval.At, c.Approval.Comment = runwire.DecisionDenied, "U0APPROVE", at(3), "not today"
				st.Rollback = []runwire.StepState{{Name: "apologise", Action: "log", For: "greet", Status: runwire.StepSucceeded, StartedAt: at(4), FinishedAt: at(4)}}
				return st
			},
			want: []string{
				"✗ hello-world — failed",
				"↺ *greet* `log` — rolled back — 400ms",
				"↷ *shout* `log` — _when: params.times &gt; 1 is false_",
				"✗ *confirm* — 2m58s — denied by <@U0APPROVE> at 03:03 UTC: not today",
				"*Rollback*\n✓ *apologise* `log` (for greet) — 0ms",
				"*Error:* step confirm: denied by U0APPROVE: not today",
			},
			notWant:   []string{"error: denied", "Approval needed"},
			retryFrom: "confirm",
		},
		{
			name: "failed action",
			state: func() *runwire.RunState {
				st := runtest.WaitingApproval()
				st.Status = runwire.StatusFailed
				st.Steps = st.Steps[:1]
				st.Steps[0].Status, st.Steps[0].Attempts, st.Steps[0].Error = runwire.StepFailed, 3, "HTTP 503 from <http://x>"
				st.Name = "run-abcd2345"
				st.Retries = []runwire.RetryRecord{{By: "U0RETRY", From: "greet", Reason: "fixed"}}
				return st
			},
			want: []string{"✗ *greet* `log` — 400ms — 3 attempts — error: HTTP 503 from &lt;http://x&gt;",
				"name `run-abcd2345`", "retried from greet by <@U0RETRY>"},
			retryFrom: "greet",
		},
		{
			name: "timed out",
			state: func() *runwire.RunState {
				st := runtest.WaitingApproval()
				st.Status = runwire.StatusFailed
				c := &st.Steps[2]
				c.Status, c.Error = runwire.StepFailed, "approval timed out after 15m"
				c.Approval.Decision, c.Approval.At = runwire.DecisionTimedOut, at(17)
				return st
			},
			want:      []string{"✗ *confirm* — approval timed out at 03:17 UTC"},
			notWant:   []string{"Approve"},
			retryFrom: "confirm",
		},
		{
			name: "cancelled while waiting shows no buttons",
			state: func() *runwire.RunState {
				st := runtest.WaitingApproval()
				st.Status = runwire.StatusCancelled
				return st
			},
			want: []string{"⊘ hello-world — cancelled"},
		},
		{
			name: "long step list collapses",
			state: func() *runwire.RunState {
				st := runtest.WaitingApproval()
				st.Status = runwire.StatusRunning
				st.Steps = nil
				for i := 0; i < 200; i++ {
					s := runwire.StepState{Name: fmt.Sprintf("step-%03d", i), Action: "log", Status: runwire.StepSucceeded,
						Error: strings.Repeat("x", 2000)}
					switch {
					case i == 120:
						s.Status = runwire.StepRunning
					case i > 120:
						s.Status = runwire.StepPending
					case i%10 == 3:
						s.Status = runwire.StepSkipped
					}
					st.Steps = append(st.Steps, s)
				}
				return st
			},
			want:    []string{"*step-000*", "_… 118 steps: 106 succeeded, 12 skipped_", "*step-119*", "▶ *step-120*", "*step-121*", "_… 77 steps: 77 pending_", "*step-199*"},
			notWant: []string{"step-050"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.state()
			blocks := slackmsg.RunBlocks(st, tc.uiURL)
			checkLimits(t, blocks)
			got := text(blocks)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in\n%s", w, got)
				}
			}
			var bs []*slackgo.ButtonBlockElement
			retry := ""
			for _, b := range buttons(blocks) {
				if b.ActionID != slackmsg.ActionRetry {
					bs = append(bs, b)
					continue
				}
				var v slackmsg.ButtonValue
				if err := json.Unmarshal([]byte(b.Value), &v); err != nil || (v.Run != st.Name && st.Name != "") || (st.Name == "" && v.Run != st.ID) || b.Text.Text != "Retry from "+v.Step {
					t.Fatalf("retry button %+v %q: %v", v, b.Text.Text, err)
				}
				retry = v.Step
			}
			if retry != tc.retryFrom {
				t.Fatalf("retry button from %q, want %q", retry, tc.retryFrom)
			}
			if !tc.buttons {
				if len(bs) != 0 {
					t.Fatalf("buttons %+v", bs)
				}
				return
			}
			if len(bs) != 2 || bs[0].ActionID != slackmsg.ActionApprove || bs[0].Style != slackgo.StylePrimary ||
				bs[1].ActionID != slackmsg.ActionDeny || bs[1].Style != slackgo.StyleDanger || bs[0].Value != bs[1].Value {
				t.Fatalf("buttons %+v %+v", bs[0], bs[1])
			}
			var v slackmsg.ButtonValue
			if err := json.Unmarshal([]byte(bs[0].Value), &v); err != nil || v != (slackmsg.ButtonValue{Run: "runbook:hello-world:ops", Step: "confirm"}) {
				t.Fatalf("value %s: %v", bs[0].Value, err)
			}
		})
	}
}

func TestRunText(t *testing.T) {
	st := runtest.WaitingApproval()
	if got := slackmsg.RunText(st); got != "⏸ hello-world needs approval for confirm — runbook:hello-world:ops" {
		t.Errorf("waiting: %q", got)
	}
	st.Status, st.Error, st.DryRun = runwire.StatusFailed, "step greet: boom", true
	if got := slackmsg.RunText(st); got != "✗ hello-world (dry run) failed: step greet: boom — runbook:hello-world:ops" {
		t.Errorf("failed: %q", got)
	}
	st.Status, st.DryRun = runwire.StatusRunning, false
	st.Steps[2].Status = runwire.StepRunning
	if got := slackmsg.RunText(st); got != "▶ hello-world is running (confirm) — runbook:hello-world:ops" {
		t.Errorf("running: %q", got)
	}
}

func TestHistoryURL(t *testing.T) {
	if got := slackmsg.HistoryURL("http://ui:8233/", "runbook:restart:prod/checkout"); got != "http://ui:8233/namespaces/default/workflows/runbook:restart:prod%2Fcheckout/history" {
		t.Fatal(got)
	}
}

// TestRunLinksTheConsole: with a console URL the context line links the
// run's page there, beside its history; without one it does not.
func TestRunLinksTheConsole(t *testing.T) {
	st := &runwire.RunState{ID: "runbook:restart:prod/checkout", Runbook: "restart", Status: runwire.StatusRunning}
	for _, tc := range []struct {
		links slackmsg.Links
		want  string
	}{
		{slackmsg.Links{Console: "https://fb.example/"}, "<https://fb.example/runs/runbook:restart:prod%2Fcheckout|console>"},
		{slackmsg.Links{UI: "http://ui:8233"}, "|history>"},
	} {
		raw, _ := json.Marshal(slackmsg.RunBlocksWith(st, tc.links))
		b := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">").Replace(string(raw))
		if !strings.Contains(b, tc.want) {
			t.Errorf("%+v: blocks lack %q: %s", tc.links, tc.want, b)
		}
		if tc.links.Console == "" && strings.Contains(b, "|console>") {
			t.Errorf("a console link without a console URL: %s", b)
		}
	}
}
