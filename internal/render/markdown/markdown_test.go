package markdown_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/render/markdown"
	"github.com/firebreak-ops/firebreak/workflows/wire/incident/incidenttest"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "—"},
		{0, "0s"},
		{42 * time.Second, "42s"},
		{12*time.Minute + 5*time.Second, "12m 5s"},
		{20 * time.Minute, "20m"},
		{3*time.Hour + 4*time.Minute + 30*time.Second, "3h 4m"},
		{5 * time.Hour, "5h"},
		{50 * time.Hour, "2d 2h"},
	} {
		if got := markdown.Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestKeyDurations(t *testing.T) {
	inc := incidenttest.Resolved()
	d := markdown.KeyDurations(&inc)
	if d.TTD != 4*time.Minute || d.TTA != 3*time.Minute || d.TTM != 30*time.Minute || d.TTR != 95*time.Minute || d.Impact != d.TTR {
		t.Errorf("durations %+v", d)
	}
	inc.AcknowledgedAt, inc.MitigatedAt, inc.ResolvedAt = nil, nil, nil
	if d := markdown.KeyDurations(&inc); d.TTA != -1 || d.TTM != -1 || d.TTR != -1 {
		t.Errorf("missing times must give -1: %+v", d)
	}
}

// TestDefaultTemplateParses keeps the shipped template a valid starting
// point for one's own.
func TestDefaultTemplateParses(t *testing.T) {
	if _, err := markdown.Parse("default", markdown.DefaultTemplate()); err != nil {
		t.Fatal(err)
	}
}

// TestRender: the built-in template escapes table cells and chart names
// and fills in the key durations.
func TestRender(t *testing.T) {
	tmpl, err := markdown.Parse("postmortem", markdown.DefaultTemplate())
	if err != nil {
		t.Fatal(err)
	}
	inc := incidenttest.Resolved()
	md, err := markdown.Render(&inc, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| Detected | 2026-05-01 12:04:00 | TTD 4m |", "| Resolved | 2026-05-01 13:35:00 | TTR 1h 35m |",
		`declared \| with a pipe and a newline`, "title INC-2026-0007 Queue backlog 2 growing",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("postmortem lacks %q:\n%s", want, md)
		}
	}
	bad, err := markdown.Parse("bad", "{{.Nope}}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := markdown.Render(&inc, bad); err == nil || !strings.HasPrefix(err.Error(), "postmortem template:") {
		t.Errorf("missing key: %v", err)
	}
}
