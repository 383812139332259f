package slack

import (
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/access"
)

// newPolicyEnv is newEnv with roles: U0ROOT holds every verb, members of
// the Slack group "resumers" may lift a chaos halt, U0NOBODY holds none.
func newPolicyEnv(t *testing.T) *env {
	pol, err := access.NewPolicy([]access.Role{
		{Name: "everything", Verbs: []string{"*"}, SlackUsers: []string{"U0ROOT"}},
		{Name: "resumers", Verbs: []string{"chaos.resume"}, SlackGroups: []string{"resumers"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fake := slackfake.New(t)
	fake.SetGroups(map[string][]string{"resumers": {"U0CAROL"}})
	e := &env{t: t, svc: &fakeService{}, slack: fake, now: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)}
	client := slackgo.New("xoxb-test", slackgo.OptionAPIURL(fake.URL()))
	e.h = New(Services{Runs: e.svc, Chaos: e.svc}, Config{SigningSecret: secret, Client: client, Policy: pol, Now: func() time.Time { return e.now }}, nil)
	return e
}

// TestEverySubcommandAsksThePolicy runs each subcommand, in each of its
// verbs, as a user no role names (refused, nothing called) and as one
// holding every verb (never refused). A subcommand missing from the table
// fails the test.
func TestEverySubcommandAsksThePolicy(t *testing.T) {
	cases := map[string][]string{
		"help":     {"help"},
		"run":      {"run hello-world", "run hello-world --dry-run"},
		"status":   {"status", "status runbook:hello-world:ops"},
		"approve":  {"approve runbook:hello-world:ops confirm"},
		"deny":     {"deny runbook:hello-world:ops confirm"},
		"cancel":   {"cancel runbook:hello-world:ops"},
		"retry":    {"retry runbook:hello-world:ops", "retry run-abcd2345 confirm fixed the database"},
		"runbooks": {"runbooks"},
		"chaos":    {"chaos halt now", "chaos resume", "chaos status", "chaos abort experiment:a:1"},
		"incident": {`incident declare sev2 "checkout down"`, "incident INC-2026-0001 note hi", "incident INC-2026-0001 show"},
	}
	for _, c := range allCommands() {
		if _, ok := cases[c.Name()]; !ok {
			t.Errorf("subcommand %q is not in the policy table", c.Name())
		}
	}
	for name, texts := range cases {
		for _, text := range texts {
			t.Run(text, func(t *testing.T) {
				e := newPolicyEnv(t)
				verb := e.h.commands[name].Verb(strings.Fields(text)[1:])
				a, later := e.commandAs("U0NOBODY", "nobody", text)
				refused := strings.Contains(a.Text, "may not "+string(verb))
				if verb == access.Public {
					if refused {
						t.Errorf("public subcommand refused: %q", a.Text)
					}
				} else if !refused || len(later) != 0 || len(e.svc.Calls()) != 0 {
					t.Errorf("U0NOBODY: %q, later %q, calls %q; want a refusal naming %s and nothing done", a.Text, later, e.svc.Calls(), verb)
				}
				a, later = e.commandAs("U0ROOT", "root", text)
				if strings.Contains(a.Text+strings.Join(later, " "), "may not") {
					t.Errorf("U0ROOT refused: %q %q", a.Text, later)
				}
			})
		}
	}
}

// TestSlackGroupsGrantVerbs: a role may name a Slack user group; the
// lookup happens only when the user ID alone is not enough.
func TestSlackGroupsGrantVerbs(t *testing.T) {
	e := newPolicyEnv(t)
	if a, _ := e.commandAs("U0CAROL", "carol", "chaos resume"); !strings.Contains(a.Text, "resuming chaos") {
		t.Errorf("carol (group resumers): %q", a.Text)
	}
	if a, _ := e.commandAs("U0DAVE", "dave", "chaos resume"); !strings.Contains(a.Text, "may not chaos.resume: it needs a role that grants it (everything, resumers)") {
		t.Errorf("dave: %q", a.Text)
	}
}

// TestButtonsAskThePolicy: an approval button is runs.approve too, and a
// retry button runs.start.
func TestButtonsAskThePolicy(t *testing.T) {
	for _, tc := range []struct{ action, verb string }{
		{"firebreak_approve", "runs.approve"},
		{"firebreak_retry", "runs.start"},
	} {
		e := newPolicyEnv(t)
		code, out := e.click("U0NOBODY", tc.action, `{"run":"runbook:hello-world:ops","step":"confirm"}`)
		if code != 200 || len(out) != 1 || !strings.Contains(out[0]["text"].(string), "may not "+tc.verb) || len(e.svc.Calls()) != 0 {
			t.Errorf("%s by U0NOBODY: %d %v, calls %q", tc.action, code, out, e.svc.Calls())
		}
	}
}
