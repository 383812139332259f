package slack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/internal/actiontest"
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
// an unknown user does not keep the others out.
func TestIncidentChannel(t *testing.T) {
	a, fake := incidentActivities(t)
	ctx := context.Background()
	out, err := a.IncidentChannel(ctx, channelReq("inc-2026-0001-checkout", "U1", "UNKNOWN9", "U2"))
	if err != nil {
		t.Fatal(err)
	}
	got := out.(map[string]any)
	if got["name"] != "inc-2026-0001-checkout" || strings.Join(got["invited"].([]string), ",") != "U1,U2" || strings.Join(got["notInvited"].([]string), ",") != "UNKNOWN9" {
		t.Errorf("output %+v", got)
	}
	chans := fake.Channels()
	if len(chans) != 1 || got["channel"] != chans[0].ID || strings.Join(chans[0].Members, ",") != "U1,U2" || chans[0].Topic != "INC-2026-0001 SEV2" {
		t.Errorf("channels %+v", chans)
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
			_, err := a.IncidentChannel(ctx, channelReq("inc-2026-0002-"+strings.ReplaceAll(tc.name, " ", "-")))
			if err == nil || actions.IsPermanent(err) != tc.perm {
				t.Errorf("error %v (permanent %t), want permanent %t", err, actions.IsPermanent(err), tc.perm)
			}
		})
	}
	if _, err := a.IncidentChannel(ctx, actions.Request{With: map[string]any{"users": []any{"U1"}}}); err == nil || !actions.IsPermanent(err) {
		t.Errorf("no name: %v", err)
	}
}

// TestIncidentChannelIsItsOwn: a channel of the incident's name that was
// already there (last year's INC-…-0001, another install's) is never used:
// the new one gets a suffix and nobody is invited into the old one. A
// retried attempt uses the channel its earlier attempt created, whether
// that attempt failed after creating it or lost the answer.
func TestIncidentChannelIsItsOwn(t *testing.T) {
	ctx := context.Background()
	t.Run("taken by another channel", func(t *testing.T) {
		a, fake := incidentActivities(t)
		old := fake.AddChannel("inc-2026-0001-checkout", "U0SOMEONE", time.Now().Add(-24*time.Hour))
		mine := fake.AddChannel("inc-2026-0001-checkout-2", slackfake.BotUserID, time.Now().Add(-time.Hour))
		out, err := a.IncidentChannel(ctx, channelReq("inc-2026-0001-checkout", "U1"))
		if err != nil {
			t.Fatal(err)
		}
		got := out.(map[string]any)
		if got["name"] != "inc-2026-0001-checkout-3" || got["channel"] == old || got["channel"] == mine {
			t.Fatalf("got %+v, want a channel of its own", got)
		}
		for _, ch := range fake.Channels() {
			if ch.ID != got["channel"] && len(ch.Members) > 0 {
				t.Errorf("invited %v into %s", ch.Members, ch.Name)
			}
		}
	})
	t.Run("a second declaration", func(t *testing.T) {
		a, _ := incidentActivities(t)
		first, err := a.IncidentChannel(ctx, channelReq("inc-2026-0001-checkout"))
		if err != nil {
			t.Fatal(err)
		}
		second, err := a.IncidentChannel(ctx, channelReq("inc-2026-0001-checkout"))
		if err != nil {
			t.Fatal(err)
		}
		if first.(map[string]any)["channel"] == second.(map[string]any)["channel"] {
			t.Fatalf("two calls share channel %v", first)
		}
	})
	for _, tc := range []struct {
		name   string
		method string
		fail   slackfake.Failure
	}{
		{"invite failed after the channel was created", "conversations.invite", slackfake.Failure{Status: http.StatusInternalServerError}},
		{"the answer to create was lost", "conversations.create", slackfake.Failure{Status: http.StatusServiceUnavailable, Applied: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, fake := incidentActivities(t)
			fake.FailNext(tc.method, tc.fail)
			out, err := actiontest.Retried(t, a.IncidentChannel, actions.SlackIncidentChannel, channelReq("inc-2026-0001-checkout", "U1"), 3)
			if err != nil {
				t.Fatal(err)
			}
			chans := fake.Channels()
			if len(chans) != 1 || out["channel"] != chans[0].ID || out["name"] != "inc-2026-0001-checkout" || strings.Join(chans[0].Members, ",") != "U1" {
				t.Fatalf("out %v, channels %+v", out, chans)
			}
		})
	}
}

// TestIncidentSummary: posted and pinned once, then updated in place; a
// deleted summary is posted (and pinned) again.
func TestIncidentSummary(t *testing.T) {
	a, fake := incidentActivities(t)
	ctx := context.Background()
	out, err := a.IncidentChannel(ctx, channelReq("inc-2026-0003-search"))
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

// TestIncidentSummaryPostedOnce: a pin that fails after the summary was
// posted is retried without posting the summary again, whether or not the
// app can read the channel's history (the retry keeps the message in its
// heartbeat). When every attempt fails, the next call, which knows no
// summary, finds the posted one by its metadata and pins that.
func TestIncidentSummaryPostedOnce(t *testing.T) {
	inc := incidentwire.Incident{ID: "INC-2026-0004", Title: "Cart slow", Severity: "sev2", Status: "investigating",
		DeclaredAt: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	setup := func(t *testing.T) (*slack.Activities, *slackfake.Server, actions.Request) {
		a, fake := incidentActivities(t)
		out, err := a.IncidentChannel(context.Background(), channelReq("inc-2026-0004-cart"))
		if err != nil {
			t.Fatal(err)
		}
		ch := out.(map[string]any)["channel"].(string)
		return a, fake, actions.Request{RunID: "incident:INC-2026-0004", Step: "slack-summary", With: map[string]any{"channel": ch, "incident": inc}}
	}
	for _, tc := range []struct {
		name       string
		noHistory  bool
		pinFails   int
		calls      int
		wantPinned bool
	}{
		{name: "pin fails once", pinFails: 1, calls: 1, wantPinned: true},
		{name: "pin fails once, history not readable", pinFails: 1, noHistory: true, calls: 1, wantPinned: true},
		{name: "every attempt fails, then a new call", pinFails: 2, calls: 2, wantPinned: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, fake, req := setup(t)
			for range tc.pinFails {
				fake.FailNext("pins.add", slackfake.Failure{Status: http.StatusInternalServerError})
			}
			if tc.noHistory {
				fake.FailNext("conversations.history", slackfake.Failure{Error: "missing_scope"}, slackfake.Failure{Error: "missing_scope"})
			}
			var out map[string]any
			var err error
			for range tc.calls {
				out, err = actiontest.Retried(t, a.IncidentSummary, actions.SlackIncidentSummary, req, 2)
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Messages()
			if len(msgs) != 1 || len(fake.Calls("chat.postMessage")) != 1 {
				t.Fatalf("%d summaries posted: %+v", len(fake.Calls("chat.postMessage")), msgs)
			}
			pins := fake.Channels()[0].Pins
			if out["ts"] != msgs[0].TS || (len(pins) == 1 && pins[0] == msgs[0].TS) != tc.wantPinned {
				t.Errorf("answered %v; message %s; pins %v", out, msgs[0].TS, pins)
			}
		})
	}
}
