package slackmsg_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// texts collects every text Slack reads as markup in blocks, fields
// included.
func texts(t *testing.T, blocks []slackgo.Block) []string {
	t.Helper()
	b, err := json.Marshal(slackgo.Blocks{BlockSet: blocks})
	if err != nil {
		t.Fatal(err)
	}
	var v any
	_ = json.Unmarshal(b, &v)
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok && x["type"] == "mrkdwn" {
				out = append(out, s)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// markup reports the Slack control sequences in a text: a mention
// (<!channel>, <!here>, <@U…>) or a link to somewhere (<https://…>).
func markup(s string) []string {
	var found []string
	for _, m := range []string{"<!channel", "<!here", "<!everyone", "<@UEVIL", "<https://evil"} {
		if strings.Contains(s, m) {
			found = append(found, m)
		}
	}
	return found
}

// TestUserTextEscaped: what people wrote — a link's URL and title, the
// title, notes, names — cannot ping a channel or plant a link in the
// pinned incident summary, its notification text, or a run's message.
func TestUserTextEscaped(t *testing.T) {
	const evil = "https://x/>hi <!channel> <https://evil"
	inc := &incidentwire.Incident{
		ID: "INC-2026-0001", Title: "db <!here> down", Severity: "sev2", Status: "investigating",
		Commander: "<@UEVIL>", Services: []string{"db"}, DeclaredBy: "<!everyone>", DeclaredAt: time.Now(),
		Roles: map[string]string{"scribe": "<!channel>"},
		Links: []incidentwire.Link{
			{Kind: "dashboard", Title: "board", URL: evil},
			{Kind: "dashboard", Title: "t|<!channel>", URL: "https://grafana.example/d/x?a=1&b=2"},
			{Kind: "link", Title: "js", URL: "javascript:alert(1)"},
		},
		Timeline: []incidentwire.TimelineEntry{{At: time.Now(), Kind: "note<!channel>", By: "<!here>", Text: "see <https://evil|here> <!channel>"}},
	}
	blocks := slackmsg.IncidentBlocks(inc)
	for _, s := range append(texts(t, blocks), slackmsg.IncidentText(inc)) {
		if m := markup(s); len(m) > 0 {
			t.Errorf("%v in %q", m, s)
		}
	}
	all := strings.Join(texts(t, blocks), "\n")
	if !strings.Contains(all, "<https://x/%3Ehi%20%3C!channel%3E%20%3Chttps://evil|board>") {
		t.Errorf("the link is not kept, encoded: %s", all)
	}
	if !strings.Contains(all, "<https://grafana.example/d/x?a=1&amp;b=2|t|&lt;!channel&gt;>") {
		t.Errorf("a plain link was changed: %s", all)
	}
	if strings.Contains(all, "<javascript:") {
		t.Errorf("a javascript: URL became a link: %s", all)
	}

	st := &runwire.RunState{ID: "runbook:x:<!channel>", Runbook: "x<!here>", Status: runwire.StatusFailed, Error: "failed <!channel> <https://evil|x>",
		RequestedBy: "<!everyone>", Params: map[string]any{"target": "<!channel>", "apiToken": "p4ram-s3cret"}}
	run := slackmsg.RunBlocks(st, "")
	for _, s := range append(texts(t, run), slackmsg.RunText(st)) {
		if m := markup(s); len(m) > 0 {
			t.Errorf("%v in %q", m, s)
		}
		if strings.Contains(s, "p4ram-s3cret") {
			t.Errorf("a param named like a secret is shown: %q", s)
		}
	}
}
