package access

import (
	"strings"
	"testing"

	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

func TestPolicy(t *testing.T) {
	pol, err := NewPolicy([]Role{
		{Name: "sre", Verbs: []string{"runs.*", "chaos.resume"}, Groups: []string{"sre"}, SlackGroups: []string{"sre-oncall"}},
		{Name: "auditor", Verbs: []string{"audit.read"}, Principals: []string{"ann"}, SlackUsers: []string{"U0ANN"}},
		{Name: "viewers", Verbs: []string{"runs.read"}, Principals: []string{"*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	api := func(id string, groups ...string) *Principal {
		return &Principal{ID: id, Groups: groups, Source: runwire.SourceAPI}
	}
	slack := func(id string, groups ...string) *Principal {
		return &Principal{ID: id, Groups: groups, Source: runwire.SourceSlack}
	}
	for _, tc := range []struct {
		name string
		p    *Principal
		verb Verb
		want bool
	}{
		{"operator", nil, ChaosResume, true},
		{"group grants a domain", api("bob", "sre"), RunsApprove, true},
		{"group grants one verb", api("bob", "sre"), ChaosResume, true},
		{"group does not grant others", api("bob", "sre"), AutomationResume, false},
		{"named principal", api("ann"), AuditRead, true},
		{"everyone reads", api("zed"), RunsRead, true},
		{"everyone, nothing more", api("zed"), RunsStart, false},
		{"API names do not match Slack users", slack("ann"), AuditRead, false},
		{"Slack user ID", slack("U0ANN"), AuditRead, true},
		{"Slack group", slack("U0BOB", "sre-oncall"), ChaosResume, true},
		{"API group names do not match Slack groups", slack("U0BOB", "sre"), ChaosResume, false},
		{"everyone is API principals only", slack("U0ZED"), RunsRead, false},
		{"public", api("zed"), Public, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pol.Allowed(tc.p, tc.verb); got != tc.want {
				t.Errorf("Allowed(%v, %s) = %v, want %v", tc.p, tc.verb, got, tc.want)
			}
			if err := pol.Check(tc.p, tc.verb); (err == nil) != tc.want || err != nil && !Is(err, Forbidden) {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	pol, err := NewPolicy(nil)
	if err != nil {
		t.Fatal(err)
	}
	someone := &Principal{ID: "U0X", Source: runwire.SourceSlack}
	for _, v := range []Verb{ChaosHalt, AutomationPause, RunsStart, IncidentsDeclare} {
		if !pol.Allowed(someone, v) {
			t.Errorf("default policy refuses %s: halting and running must stay easy", v)
		}
	}
	for _, v := range []Verb{ChaosResume, AutomationResume, ChaosRun, GamedaysTrigger, GamedaysManage, AuditRead} {
		err := pol.Check(someone, v)
		if err == nil || !strings.Contains(err.Error(), "no role grants it") {
			t.Errorf("default policy on %s: %v", v, err)
		}
	}
	var none *Policy
	if none.Allowed(someone, ChaosResume) || !none.Allowed(someone, ChaosHalt) {
		t.Error("a nil policy is not the default one")
	}
}

func TestNewPolicyErrors(t *testing.T) {
	for _, tc := range []struct {
		roles []Role
		want  string
	}{
		{[]Role{{Verbs: []string{"runs.*"}}}, "roles[0].name is required"},
		{[]Role{{Name: "x", Verbs: []string{"runs.*"}}, {Name: "y", Verbs: []string{"chaos.resum"}}}, `roles[1] (y).verbs: unknown verb "chaos.resum"`},
		{[]Role{{Name: "x", Verbs: []string{"nothing.*"}}}, `unknown verb "nothing.*"`},
	} {
		_, err := NewPolicy(tc.roles)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewPolicy(%+v) = %v, want %q", tc.roles, err, tc.want)
		}
		if err != nil && !Is(err, Invalid) {
			t.Errorf("not Invalid: %v", err)
		}
	}
}
