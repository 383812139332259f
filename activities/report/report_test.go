package report_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/report"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	"github.com/firebreak-ops/firebreak/workflows/wire/incident/incidenttest"
)

// TestPostmortem: the built-in template writes the file; table cells and
// chart names are escaped; a configured template replaces it; a bad
// template or record is a permanent error; an unwritable directory keeps
// the document in the result.
func TestPostmortem(t *testing.T) {
	ctx := context.Background()
	req := actions.Request{Step: "render", With: map[string]any{"incident": incidenttest.Resolved()}}
	dir := t.TempDir()
	out, err := report.New(report.Config{Dir: dir}).Postmortem(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	res := out.(map[string]any)
	md := res["markdown"].(string)
	if res["path"] != filepath.Join(dir, "INC-2026-0007.md") {
		t.Errorf("path %v", res["path"])
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "INC-2026-0007.md")); string(data) != md {
		t.Error("file differs from the result")
	}
	for _, want := range []string{
		"| Detected | 2026-05-01 12:04:00 | TTD 4m |", "| Resolved | 2026-05-01 13:35:00 | TTR 1h 35m |",
		`declared \| with a pipe and a newline`, "title INC-2026-0007 Queue backlog 2 growing",
		"_No automated action ran for this incident._", "- No runbook run was linked to this incident.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}

	tmpl := filepath.Join(t.TempDir(), "short.tmpl")
	if err := os.WriteFile(tmpl, []byte(`{{.Incident.ID}} TTR {{.TTR}} ({{duration 90000000000}}) {{len .Actions}} actions`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = report.New(report.Config{Template: tmpl}).Postmortem(ctx, req)
	if err != nil || out.(map[string]any)["markdown"] != "INC-2026-0007 TTR 1h 35m (1m 30s) 0 actions" {
		t.Errorf("custom template: %v %v", out, err)
	}

	bad := filepath.Join(t.TempDir(), "bad.tmpl")
	_ = os.WriteFile(bad, []byte(`{{.Nope}`), 0o600)
	for name, tc := range map[string]struct {
		cfg report.Config
		req actions.Request
	}{
		"template does not parse": {report.Config{Template: bad}, req},
		"template missing":        {report.Config{Template: filepath.Join(dir, "none.tmpl")}, req},
		"no incident":             {report.Config{}, actions.Request{With: map[string]any{}}},
		"not an incident":         {report.Config{}, actions.Request{With: map[string]any{"incident": map[string]any{"id": "x"}}}},
	} {
		if _, err := report.New(tc.cfg).Postmortem(ctx, tc.req); err == nil || !actions.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent error", name, err)
		}
	}

	blocked := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(blocked, nil, 0o600)
	out, err = report.New(report.Config{Dir: filepath.Join(blocked, "sub")}).Postmortem(ctx, req)
	if err != nil || out.(map[string]any)["writeError"] == nil || out.(map[string]any)["markdown"] != md {
		t.Errorf("unwritable directory: %v %v", out, err)
	}
}

// BenchmarkPostmortem renders the postmortem of a long incident: a full
// timeline (5000 entries), 500 automated steps and 100 alerts.
func BenchmarkPostmortem(b *testing.B) {
	inc := incidenttest.Resolved()
	t0 := inc.StartedAt
	for i := range 5000 {
		inc.Timeline = append(inc.Timeline, incidentwire.TimelineEntry{At: t0.Add(time.Duration(i) * time.Second), Kind: "note", By: "bob", Text: "a note of ordinary length about what was seen"})
	}
	ok := true
	for i := range 500 {
		s, e := t0.Add(time.Duration(i)*time.Second), t0.Add(time.Duration(i+1)*time.Second)
		inc.Automation = append(inc.Automation, incidentwire.StepReport{Run: "runbook:x:y", Step: "step", Kind: "action", Action: "log", Status: "succeeded",
			Guard: "params.x > 1", GuardOK: &ok, StartedAt: &s, FinishedAt: &e})
	}
	for i := range 100 {
		inc.Alerts = append(inc.Alerts, incidentwire.IncidentAlert{Source: "alertmanager", Fingerprint: string(rune('a' + i%26)), Labels: map[string]string{"alertname": "X", "pod": "p"}})
	}
	a := report.New(report.Config{Dir: b.TempDir()})
	req := actions.Request{With: map[string]any{"incident": inc}}
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.Postmortem(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
