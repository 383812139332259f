package chart

import (
	"fmt"
	"strings"
	"time"

	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// ganttTime is the date format of the chart.
const ganttTime = "2006-01-02 15:04:05"

// Gantt draws the incident as a Mermaid gantt chart: the impact window,
// the response phases and each automated step.
func Gantt(inc *incidentwire.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "gantt\n    title %s %s\n    dateFormat YYYY-MM-DD HH:mm:ss\n    axisFormat %%H:%%M\n", inc.ID, ganttName(inc.Title))
	bar := func(name, tag, id string, from time.Time, to *time.Time) {
		if from.IsZero() || to == nil || to.IsZero() {
			return
		}
		end := *to
		if !end.After(from) {
			end = from.Add(time.Second)
		}
		if tag != "" {
			tag += ", "
		}
		fmt.Fprintf(&b, "    %s :%s%s, %s, %s\n", ganttName(name), tag, id, from.UTC().Format(ganttTime), end.UTC().Format(ganttTime))
	}
	b.WriteString("    section Impact\n")
	end := inc.ResolvedAt
	bar("Impact", "crit", "impact", inc.StartedAt, end)
	b.WriteString("    section Response\n")
	detected := inc.DetectedAt
	bar("Detect", "", "detect", inc.StartedAt, &detected)
	if inc.AcknowledgedAt != nil {
		bar("Acknowledge", "", "ack", inc.DetectedAt, inc.AcknowledgedAt)
	}
	if inc.AcknowledgedAt != nil && inc.MitigatedAt != nil {
		bar("Mitigate", "active", "mitigate", *inc.AcknowledgedAt, inc.MitigatedAt)
	}
	if inc.MitigatedAt != nil {
		bar("Recover", "done", "recover", *inc.MitigatedAt, inc.ResolvedAt)
	}
	steps := false
	for i, s := range inc.Automation {
		if s.StartedAt == nil || s.FinishedAt == nil {
			continue
		}
		if !steps {
			b.WriteString("    section Automation\n")
			steps = true
		}
		tag := "done"
		switch s.Status {
		case runwire.StepFailed:
			tag = "crit"
		case runwire.StepSkipped:
			continue
		}
		bar(s.Step, tag, fmt.Sprintf("step%d", i+1), *s.StartedAt, s.FinishedAt)
	}
	return b.String()
}

// ganttName keeps a task name from breaking Mermaid's syntax.
func ganttName(s string) string {
	s = strings.NewReplacer(":", " ", "#", " ", ";", " ", "\n", " ").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}
