// Package chart draws Firebreak's charts as text: the SVG probe chart of a
// chaos experiment run and the Mermaid gantt chart of an incident's
// timeline. It does no I/O.
package chart

import (
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
	"time"

	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// Chart sizes, in SVG user units.
const (
	chartWidth  = 720
	panelHeight = 150
	padLeft     = 70
	padRight    = 20
	padTop      = 24
	padBottom   = 26
)

// phaseColors tell before, during and after apart.
var phaseColors = map[string]string{
	chaoswire.SampleBefore: "#2b7bb9",
	chaoswire.SampleDuring: "#d9480f",
	chaoswire.SampleAfter:  "#2f9e44",
}

// series is one probe's numeric readings.
type series struct {
	name   string
	unit   string
	points []point
}

type point struct {
	at    time.Time
	value float64
	phase string
}

// Numeric reads a probe sample as a number and its unit: Prometheus values
// directly, HTTP probes by latency. Other values have no line to draw.
func Numeric(v any) (float64, string, bool) {
	switch x := v.(type) {
	case float64:
		return x, "", true
	case int64:
		return float64(x), "", true
	case map[string]any:
		if l, ok := x["latencyMs"].(float64); ok {
			return l, "ms", true
		}
	}
	return 0, "", false
}

func probeSeries(st *chaoswire.ExperimentState) []series {
	names := make([]string, 0, len(st.Probes))
	for n := range st.Probes {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []series
	for _, n := range names {
		s := series{name: n}
		for _, smp := range st.Probes[n] {
			if v, unit, ok := Numeric(smp.Value); ok && !math.IsNaN(v) {
				s.points = append(s.points, point{at: smp.At, value: v, phase: smp.Phase})
				s.unit = unit
			}
		}
		if len(s.points) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// ProbeChart draws every numeric probe of a run as a line over time, one
// panel per probe, with the fault window shaded.
func ProbeChart(st *chaoswire.ExperimentState) string {
	all := probeSeries(st)
	height := padTop + len(all)*panelHeight + 30
	if len(all) == 0 {
		height = 60
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`, chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`)
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="13" font-weight="bold">%s — %s</text>`, padLeft, html.EscapeString(st.Experiment), html.EscapeString(st.Verdict))
	if len(all) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="40">no numeric probe readings</text></svg>`, padLeft)
		return b.String()
	}
	t0, t1 := st.StartedAt, st.StartedAt
	for _, s := range all {
		for _, p := range s.points {
			if p.at.Before(t0) {
				t0 = p.at
			}
			if p.at.After(t1) {
				t1 = p.at
			}
		}
	}
	if st.EndedAt != nil && st.EndedAt.After(t1) {
		t1 = *st.EndedAt
	}
	span := t1.Sub(t0).Seconds()
	if span <= 0 {
		span = 1
	}
	plotW := float64(chartWidth - padLeft - padRight)
	x := func(t time.Time) float64 { return padLeft + plotW*t.Sub(t0).Seconds()/span }
	for i, s := range all {
		top := float64(padTop + i*panelHeight)
		plotH := float64(panelHeight - padBottom - 10)
		lo, hi := s.points[0].value, s.points[0].value
		for _, p := range s.points {
			lo, hi = math.Min(lo, p.value), math.Max(hi, p.value)
		}
		if hi == lo {
			hi, lo = hi+1, lo-1
			if lo < 0 && s.points[0].value >= 0 {
				lo = 0
			}
		}
		y := func(v float64) float64 { return top + 10 + plotH*(1-(v-lo)/(hi-lo)) }
		// The fault window.
		if st.InjectedAt != nil {
			end := t1
			if st.RecoveredAt != nil {
				end = *st.RecoveredAt
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#fff4e6"/>`, x(*st.InjectedAt), top+10, math.Max(1, x(end)-x(*st.InjectedAt)), plotH)
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999"/>`, padLeft, top+10+plotH, chartWidth-padRight, top+10+plotH)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#999"/>`, padLeft, top+10, padLeft, top+10+plotH)
		label := s.name
		if s.unit != "" {
			label += " (" + s.unit + ")"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" font-weight="bold">%s</text>`, padLeft+4, top+8, html.EscapeString(label))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padLeft-4, top+14, Number(hi))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`, padLeft-4, top+10+plotH, Number(lo))
		var path []string
		for _, p := range s.points {
			path = append(path, fmt.Sprintf("%.1f,%.1f", x(p.at), y(p.value)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#555" stroke-width="1.5" points="%s"/>`, strings.Join(path, " "))
		for _, p := range s.points {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>`,
				x(p.at), y(p.value), phaseColors[p.phase], p.phase, p.at.UTC().Format(time.RFC3339), Number(p.value))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f">+0s</text>`, padLeft, top+10+plotH+14)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">+%s</text>`, chartWidth-padRight, top+10+plotH+14, time.Duration(span*float64(time.Second)).Round(time.Second))
	}
	ly := float64(height - 10)
	lx := padLeft
	for _, ph := range []string{chaoswire.SampleBefore, chaoswire.SampleDuring, chaoswire.SampleAfter} {
		fmt.Fprintf(&b, `<circle cx="%d" cy="%.1f" r="4" fill="%s"/><text x="%d" y="%.1f">%s</text>`, lx, ly-4, phaseColors[ph], lx+8, ly, ph)
		lx += 80
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="12" height="10" fill="#fff4e6" stroke="#d9480f" stroke-width="0.5"/><text x="%d" y="%.1f">fault injected</text>`, lx, ly-9, lx+16, ly)
	b.WriteString(`</svg>`)
	return b.String()
}

// Number writes a probe value as the chart labels it: whole numbers as
// they are, others to three significant digits.
func Number(v float64) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 0.01:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2e", v)
}
