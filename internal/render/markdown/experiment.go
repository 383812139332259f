package markdown

import (
	"encoding/base64"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/internal/render/chart"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// ExperimentMarkdown renders an experiment run as Markdown: verdict, key
// times, phases, targets, the checks evaluated, probe values before, during
// and after the fault, and the probe chart embedded as an SVG image.
func ExperimentMarkdown(st *chaoswire.ExperimentState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Chaos experiment: %s\n\n", st.Experiment)
	verdict := "**" + st.Verdict + "**"
	if st.Verdict == "" {
		verdict = "_" + st.Status + "_"
	}
	if st.DryRun {
		verdict += " (dry run)"
	}
	rows := [][2]string{
		{"Verdict", verdict},
		{"Reason", expCell(st.Reason)},
		{"Run", "`" + st.ID + "`"},
		{"Fault", st.Fault},
		{"Started", expStamp(&st.StartedAt)},
		{"Injected", expStamp(st.InjectedAt)},
		{"Recovered", expStamp(st.RecoveredAt)},
		{"Ended", expStamp(st.EndedAt)},
	}
	if st.Object != nil {
		rows = append(rows, [2]string{"Resource", fmt.Sprintf("%s `%s/%s`", st.Object.Kind, st.Object.Namespace, st.Object.Name)})
	}
	if st.RequestedBy != "" {
		rows = append(rows, [2]string{"Requested by", st.RequestedBy})
	}
	if st.GameDay != "" {
		rows = append(rows, [2]string{"Game day", "`" + st.GameDay + "`"})
	}
	b.WriteString("| | |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], r[1])
	}
	b.WriteString("\n## Phases\n\n| Phase | Status | At | Took | Detail |\n|---|---|---|---|---|\n")
	for _, p := range st.Phases {
		took := ""
		if p.Ended != nil {
			took = p.Ended.Sub(p.At).Round(time.Millisecond).String()
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", p.Name, p.Status, p.At.UTC().Format(time.RFC3339), took, expCell(p.Detail))
	}
	b.WriteString("\n## Targets\n\n")
	if len(st.Targets) == 0 {
		b.WriteString("None injected.\n")
	} else {
		b.WriteString("| Target | Phase |\n|---|---|\n")
		for _, t := range st.Targets {
			fmt.Fprintf(&b, "| `%s` | %s |\n", t.ID, t.Phase)
		}
	}
	if len(st.Checks) > 0 {
		b.WriteString("\n## Conditions\n\n| Phase | Condition | Result | Inputs |\n|---|---|---|---|\n")
		for _, c := range st.Checks {
			res := fmt.Sprint(c.Result)
			if c.Error != "" {
				res = "error: " + c.Error
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", c.Phase, expCell(c.Expr), expCell(res), expCell(expInputs(c.Inputs)))
		}
	}
	b.WriteString("\n## Probes\n\n")
	if len(st.Probes) == 0 {
		b.WriteString("No probes.\n")
	} else {
		b.WriteString("| Probe | Before | During (min – max) | After | Errors |\n|---|---|---|---|---|\n")
		probeNames := make([]string, 0, len(st.Probes))
		for n := range st.Probes {
			probeNames = append(probeNames, n)
		}
		sort.Strings(probeNames)
		for _, n := range probeNames {
			fmt.Fprintf(&b, "| %s | %s |\n", n, probeRow(st.Probes[n]))
		}
		svg := chart.ProbeChart(st)
		fmt.Fprintf(&b, "\n![probe values over time](data:image/svg+xml;base64,%s)\n", base64.StdEncoding.EncodeToString([]byte(svg)))
	}
	if st.Error != "" {
		fmt.Fprintf(&b, "\n## Error\n\n%s\n", st.Error)
	}
	return b.String()
}

func probeRow(samples []chaoswire.ProbeSample) string {
	var before, after string
	lo, hi := math.Inf(1), math.Inf(-1)
	errs := 0
	for _, s := range samples {
		if s.Error != "" {
			errs++
			continue
		}
		v, unit, ok := chart.Numeric(s.Value)
		shown := "answered"
		if ok {
			shown = chart.Number(v) + unit
		}
		switch s.Phase {
		case chaoswire.SampleBefore:
			before = shown
		case chaoswire.SampleAfter:
			after = shown
		case chaoswire.SampleDuring:
			if ok {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	during := "—"
	if !math.IsInf(lo, 1) {
		during = chart.Number(lo) + " – " + chart.Number(hi)
	}
	return strings.Join([]string{expDash(before), during, expDash(after), fmt.Sprint(errs)}, " | ")
}

// GameDayMarkdown renders a game day run: each experiment's verdict, the
// resilience score, and each experiment's own report below.
func GameDayMarkdown(st *chaoswire.GameDayState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Game day: %s\n\n", st.GameDay)
	fmt.Fprintf(&b, "Resilience score: **%.0f%%** (weighted share of passed experiments)\n\n", st.Score)
	if st.Stopped != "" {
		fmt.Fprintf(&b, "Stopped early: %s\n\n", st.Stopped)
	}
	b.WriteString("| Experiment | Verdict | Weight | Reason | Run |\n|---|---|---|---|---|\n")
	for _, r := range st.Results {
		fmt.Fprintf(&b, "| %s | %s | %d | %s | `%s` |\n", r.Experiment, r.Verdict, r.Weight, expCell(r.Reason), r.RunID)
	}
	ids := make([]string, 0, len(st.Runs))
	for id := range st.Runs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		b.WriteString("\n---\n\n")
		b.WriteString(strings.Replace(ExperimentMarkdown(st.Runs[id]), "# ", "## ", 1))
	}
	return b.String()
}

func expInputs(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func expStamp(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return t.UTC().Format(time.RFC3339)
}

func expDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func expCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "|", "\\|"), "\n", " ")
}
