package chart_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/render/chart"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

func TestNumeric(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
		ok   bool
	}{
		{float64(12), "12", true},
		{int64(3), "3", true},
		{map[string]any{"latencyMs": 41.5}, "41.5ms", true},
		{map[string]any{"status": 200.0}, "", false},
		{"up", "", false},
	} {
		v, unit, ok := chart.Numeric(tc.v)
		if ok != tc.ok || (ok && chart.Number(v)+unit != tc.want) {
			t.Errorf("Numeric(%v) = %v %q %t", tc.v, v, unit, ok)
		}
	}
	for v, want := range map[float64]string{3: "3", 0.25: "0.25", 1234.5678: "1.23e+03", 0.001: "1.00e-03"} {
		if got := chart.Number(v); got != want {
			t.Errorf("Number(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestProbeChart(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	injected := t0.Add(10 * time.Second)
	st := &chaoswire.ExperimentState{Experiment: "pod-kill <x>", Verdict: "passed", StartedAt: t0, InjectedAt: &injected,
		Probes: map[string][]chaoswire.ProbeSample{
			"latency": {
				{At: t0, Phase: chaoswire.SampleBefore, Value: map[string]any{"latencyMs": 20.0}},
				{At: t0.Add(15 * time.Second), Phase: chaoswire.SampleDuring, Value: map[string]any{"latencyMs": 90.0}},
			},
			"status": {{At: t0, Phase: chaoswire.SampleBefore, Value: "ok"}},
		}}
	svg := chart.ProbeChart(st)
	if !strings.HasPrefix(svg, `<svg xmlns="http://www.w3.org/2000/svg"`) || !strings.HasSuffix(svg, "</svg>") {
		t.Fatalf("not an SVG document: %s", svg)
	}
	for _, want := range []string{"pod-kill &lt;x&gt; — passed", "latency", "fault injected"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q: %s", want, svg)
		}
	}
	if strings.Contains(svg, ">status") {
		t.Errorf("a probe without numbers got a panel: %s", svg)
	}
	if svg := chart.ProbeChart(&chaoswire.ExperimentState{Experiment: "e"}); !strings.Contains(svg, "no numeric probe readings") {
		t.Errorf("empty chart: %s", svg)
	}
}

func TestGantt(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(m int) *time.Time { t := t0.Add(time.Duration(m) * time.Minute); return &t }
	inc := &incidentwire.Incident{
		ID: "INC-2026-0007", Title: "Queue: backlog #2; growing",
		StartedAt: t0, DetectedAt: *at(4), AcknowledgedAt: at(7), MitigatedAt: at(30), ResolvedAt: at(95),
		Automation: []incidentwire.StepReport{
			{Step: "scale: up", Status: runwire.StepSucceeded, StartedAt: at(8), FinishedAt: at(9)},
			{Step: "skipped", Status: runwire.StepSkipped, StartedAt: at(9), FinishedAt: at(9)},
			{Step: "restart", Status: runwire.StepFailed, StartedAt: at(10), FinishedAt: at(10)},
		},
	}
	want := `gantt
    title INC-2026-0007 Queue backlog 2 growing
    dateFormat YYYY-MM-DD HH:mm:ss
    axisFormat %H:%M
    section Impact
    Impact :crit, impact, 2026-05-01 12:00:00, 2026-05-01 13:35:00
    section Response
    Detect :detect, 2026-05-01 12:00:00, 2026-05-01 12:04:00
    Acknowledge :ack, 2026-05-01 12:04:00, 2026-05-01 12:07:00
    Mitigate :active, mitigate, 2026-05-01 12:07:00, 2026-05-01 12:30:00
    Recover :done, recover, 2026-05-01 12:30:00, 2026-05-01 13:35:00
    section Automation
    scale up :done, step1, 2026-05-01 12:08:00, 2026-05-01 12:09:00
    restart :crit, step3, 2026-05-01 12:10:00, 2026-05-01 12:10:01
`
	if got := chart.Gantt(inc); got != want {
		t.Errorf("Gantt:\n%s\nwant:\n%s", got, want)
	}
}
