package slack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/slack"
	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

func incidentActivities(t *testing.T) (*slack.Activities, *slackfake.Server) {
	fake := slackfake.New(t)
	return slack.New(slack.Config{BotToken: "xoxb-test", APIURL: fake.URL(), HTTP: &http.Client{Timeout: 5 * time.Second}}), fake
}

func channelReq(name string, users ...string) actions.Request {
	u := make([]any, len(users))
	for i, x := range users {
		u[i] = x
	}
	return actions.Request{RunID: "incident:INC-2026-0001", Step: "slack-channel", With: map[string]any{"name": name, "users": u, "topic": "INC-2026-0001 SEV2"}}
}

// TestIncidentChannel: the channel is created with its topic and people;
// a second call (a retry) reuses it; an unknown user does not keep the
// others out.
func TestIncidentChannel(t *testing.T) {
	a, fake := incidentActivities(t)
	ctx := context.Background()
	out, err := a.IncidentChannel(ctx, channelReq("inc-0001-checkout", "U1", "UNKNOWN9", "U2"))
	if err != nil {
		t.Fatal(err)
	}
	got := out.(map[string]any)
	if got["name"] != "inc-0001-checkout" || strings.Join(got["invited"].([]string), ",") != "U1,U2" || strings.Join(got["notInvited"].([]string), ",") != "UNKNOWN9" {
		t.Errorf("output %+v", got)
	}
	again, err := a.IncidentChannel(ctx, channelReq("inc-0001-checkout", "U1", "U3"))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	chans := fake.Channels()
	if len(chans) != 1 || again.(map[string]any)["channel"] != chans[0].ID {
		t.Fatalf("want one channel reused, got %+v", chans)
	}
	if strings.Join(chans[0].Members, ",") != "U1,U2,U3" || chans[0].Topic != "INC-2026-0001 SEV2" {
		t.Errorf("channel %+v", chans[0])
	}

	for _, tc := range []struct {
		name string
		fail slackfake.Failure
		perm bool
	}{
		{"restricted", slackfake.Failure{Error: "restricted_action"}, true},
		{"server error", slackfake.Failure{Status: 500}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.FailNext("conversations.create", tc.fail)
			_, err := a.IncidentChannel(ctx, channelReq("inc-0002-"+strings.ReplaceAll(tc.name, " ", "-")))
			if err == nil || actions.IsPermanent(err) != tc.perm {
				t.Errorf("error %v (permanent %t), want permanent %t", err, actions.IsPermanent(err), tc.perm)
			}
		})
	}
	if _, err := a.IncidentChannel(ctx, actions.Request{With: map[string]any{"users": []any{"U1"}}}); err == nil || !actions.IsPermanent(err) {
		t.Errorf("no name: %v", err)
	}
}

// TestIncidentSummary: posted and pinned once, then updated in place; a
// deleted summary is posted (and pinned) again.
func TestIncidentSummary(t *testing.T) {
	a, fake := incidentActivities(t)
	ctx := context.Background()
	out, err := a.IncidentChannel(ctx, channelReq("inc-0003-search"))
	if err != nil {
		t.Fatal(err)
	}
	ch := out.(map[string]any)["channel"].(string)
	inc := incidentwire.Incident{
		ID: "INC-2026-0003", Title: "Search slow", Severity: "sev2", Status: "investigating", Commander: "U1",
		Roles: map[string]string{"commander": "U1", "scribe": "U2"}, Services: []string{"search"},
		Links:      []incidentwire.Link{{Kind: "dashboard", Title: "Search <latency>", URL: "https://grafana.example/d/search"}},
		DeclaredBy: "U1", DeclaredAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		Timeline: []incidentwire.TimelineEntry{{At: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Kind: "declared", By: "U1", Text: "SEV2 declared: Search slow"}},
	}
	summary := func(ts string) string {
		t.Helper()
		out, err := a.IncidentSummary(ctx, actions.Request{Step: "slack-summary", With: map[string]any{"channel": ch, "ts": ts, "incident": inc}})
		if err != nil {
			t.Fatal(err)
		}
		return out.(map[string]any)["ts"].(string)
	}
	ts := summary("")
	inc.Status = incidentwire.IncidentMitigated
	if again := summary(ts); again != ts {
		t.Errorf("update posted a new message: %s, was %s", again, ts)
	}
	chans := fake.Channels()
	if len(chans[0].Pins) != 1 || chans[0].Pins[0] != ts {
		t.Errorf("pins %v, want %s", chans[0].Pins, ts)
	}
	m, _ := fake.Message(ch, ts)
	blocks := slackfake.BlocksJSON(m.Blocks)
	for _, want := range []string{"INC-2026-0003: Search slow", "mitigated", "scribe: U2", "<https://grafana.example/d/search|Search &lt;latency&gt;>", "SEV2 declared"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("summary lacks %q: %s", want, blocks)
		}
	}
	if m.Updates != 1 || !strings.Contains(m.Text, "INC-2026-0003 [SEV2] Search slow — mitigated") {
		t.Errorf("message %+v", m)
	}
	// Someone deleted it: the next update posts and pins a new one.
	if newTS := summary("1700000000.999999"); newTS == ts {
		t.Error("a missing summary was not posted again")
	} else if pins := fake.Channels()[0].Pins; len(pins) != 2 || pins[1] != newTS {
		t.Errorf("pins %v", pins)
	}
}
