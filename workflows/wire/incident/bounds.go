package incident

import (
	"slices"
	"unicode/utf8"
)

// Byte caps of an incident's fields. The API refuses a longer value with a
// 400 naming the field (internal/incidents); the workflow clips whatever
// reaches it anyway (Clip*), and keeps each list within a byte budget, so
// the record — the query's answer, the postmortem's input and what
// continue-as-new carries — stays far inside Temporal's 2 MB payload
// limit whatever is sent.
const (
	MaxTitleBytes = 400
	// MaxNameBytes bounds who: commander, role holders, responders, by,
	// declaredBy.
	MaxNameBytes    = 200
	MaxServiceBytes = 100
	MaxServices     = 20
	MaxResponders   = 50
	// MaxLinks bounds the links of a declaration; MaxRecordLinks those an
	// incident keeps.
	MaxLinks          = 20
	MaxRecordLinks    = 50
	MaxURLBytes       = 2048
	MaxLinkTitleBytes = 200
	MaxLinkIDBytes    = 128
	MaxLinkKindBytes  = 20
	// MaxTextBytes bounds a note, a status or severity note and an action
	// item (they are also at most MaxTextChars characters).
	MaxTextBytes = 4000
	MaxTextChars = 1000
	// MaxSummaryBytes bounds a resolve summary (also MaxSummaryChars
	// characters).
	MaxSummaryBytes = 16000
	MaxSummaryChars = 8000
	// MaxActionItems bounds the action items of one command;
	// MaxRecordActionItems those an incident keeps.
	MaxActionItems       = 20
	MaxRecordActionItems = 100
	// MaxRuns bounds the runs a declaration links; MaxRecordRuns those
	// an incident keeps (the first ones).
	MaxRuns       = 20
	MaxRecordRuns = 200
	// MaxRunBytes bounds a run ID; MaxRefBytes an entry's ref (a URL, an
	// ID); MaxSourceBytes a transport's name.
	MaxRunBytes    = 300
	MaxRefBytes    = MaxURLBytes
	MaxSourceBytes = 50
	// MaxPagerDutyBytes bounds a PagerDuty incident ID.
	MaxPagerDutyBytes = 64
	// MaxEntryBytes bounds a timeline entry's text as the record keeps it.
	MaxEntryBytes = 4000
	// Budgets of the record's lists, in bytes of their JSON (as Temporal's
	// converter writes it, escapes included): beyond one, the oldest
	// entries go first (the newest, for alerts and action items).
	MaxTimelineBytes    = 384 << 10
	MaxAutomationBytes  = 256 << 10
	MaxAlertsBytes      = 128 << 10
	MaxLinksBytes       = 128 << 10
	MaxActionItemsBytes = 128 << 10
)

// ClipText cuts s to at most max bytes on a character boundary, ending
// it with "…" when it was cut.
func ClipText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	const ellipsis = "…"
	cut := max - len(ellipsis)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// ClipLink clips a link's fields to their caps.
func ClipLink(l Link) Link {
	return Link{Kind: ClipText(l.Kind, MaxLinkKindBytes), Title: ClipText(l.Title, MaxLinkTitleBytes),
		URL: ClipText(l.URL, MaxURLBytes), ID: ClipText(l.ID, MaxLinkIDBytes)}
}

// ClipEntry clips a timeline entry's fields to their caps.
func ClipEntry(e TimelineEntry) TimelineEntry {
	e.Kind = ClipText(e.Kind, MaxLinkKindBytes)
	e.By = ClipText(e.By, MaxNameBytes)
	e.Text = ClipText(e.Text, MaxEntryBytes)
	e.Ref = ClipText(e.Ref, MaxRefBytes)
	e.Source = ClipText(e.Source, MaxSourceBytes)
	return e
}

// ClipStep clips a step report's texts.
func ClipStep(s StepReport) StepReport {
	s.Run, s.Runbook, s.Step = ClipText(s.Run, MaxRunBytes), ClipText(s.Runbook, MaxNameBytes), ClipText(s.Step, MaxNameBytes)
	s.Kind, s.Action, s.Status = ClipText(s.Kind, 50), ClipText(s.Action, 100), ClipText(s.Status, 50)
	s.Guard, s.Reason, s.Error = ClipText(s.Guard, 500), ClipText(s.Reason, 1000), ClipText(s.Error, 1000)
	s.Decision, s.Approver = ClipText(s.Decision, 50), ClipText(s.Approver, MaxNameBytes)
	return s
}

// ClipAlert clips an alert's texts and labels (at most 32 labels of 256
// bytes).
func ClipAlert(a IncidentAlert) IncidentAlert {
	a.Source, a.Fingerprint, a.Name, a.Status = ClipText(a.Source, 50), ClipText(a.Fingerprint, 256), ClipText(a.Name, 256), ClipText(a.Status, 50)
	a.Run = ClipText(a.Run, MaxRunBytes)
	if len(a.Labels) > 0 {
		keys := make([]string, 0, len(a.Labels))
		//workflowcheck:ignore the keys are sorted below
		for k := range a.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		labels := make(map[string]string, min(len(keys), 32))
		for _, k := range keys[:min(len(keys), 32)] {
			labels[ClipText(k, 256)] = ClipText(a.Labels[k], 256)
		}
		a.Labels = labels
	}
	return a
}

// jsonLen is the length of s as a JSON string: encoding/json writes <, >
// and & as \u003c and the like, so a text of them takes six times its
// bytes.
func jsonLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '<' || c == '>' || c == '&' || c < 0x20:
			n += 6
		case c == '"' || c == '\\':
			n += 2
		default:
			n++
		}
	}
	return n
}

// entrySize, stepSize, alertSize and linkSize are what an entry adds to
// the record's JSON, fields' names included.
func entrySize(e TimelineEntry) int {
	return 90 + jsonLen(e.Kind) + jsonLen(e.By) + jsonLen(e.Text) + jsonLen(e.Ref) + jsonLen(e.Source)
}

func stepSize(s StepReport) int {
	return 250 + jsonLen(s.Run) + jsonLen(s.Runbook) + jsonLen(s.Step) + jsonLen(s.Kind) + jsonLen(s.Action) + jsonLen(s.Status) +
		jsonLen(s.Guard) + jsonLen(s.Reason) + jsonLen(s.Decision) + jsonLen(s.Approver) + jsonLen(s.Error)
}

func alertSize(a IncidentAlert) int {
	n := 150 + jsonLen(a.Source) + jsonLen(a.Fingerprint) + jsonLen(a.Name) + jsonLen(a.Status) + jsonLen(a.Run)
	//workflowcheck:ignore sums lengths; order does not matter
	for k, v := range a.Labels {
		n += jsonLen(k) + jsonLen(v) + 2
	}
	return n
}

func linkSize(l Link) int {
	return 40 + jsonLen(l.Kind) + jsonLen(l.Title) + jsonLen(l.URL) + jsonLen(l.ID)
}

// FitsLinks reports whether one more link keeps the links within
// MaxRecordLinks and MaxLinksBytes.
func FitsLinks(links []Link, l Link) bool {
	if len(links) >= MaxRecordLinks {
		return false
	}
	total := linkSize(l)
	for _, have := range links {
		total += linkSize(have)
	}
	return total <= MaxLinksBytes
}

// FitActionItems keeps the action items, in order, that fit in
// MaxRecordActionItems and MaxActionItemsBytes, each clipped to
// MaxTextBytes.
func FitActionItems(items []string) []string {
	total := 0
	out := make([]string, 0, min(len(items), MaxRecordActionItems))
	for _, it := range items {
		it = ClipText(it, MaxTextBytes)
		if len(out) >= MaxRecordActionItems || total+jsonLen(it)+1 > MaxActionItemsBytes {
			break
		}
		total += jsonLen(it) + 1
		out = append(out, it)
	}
	return out
}

// TrimTimeline drops the oldest entries until the timeline is within
// MaxTimelineBytes.
func TrimTimeline(tl []TimelineEntry) []TimelineEntry {
	return trimOldest(tl, entrySize, MaxTimelineBytes)
}

// TrimAutomation drops the oldest step reports until they are within
// MaxAutomationBytes.
func TrimAutomation(steps []StepReport) []StepReport {
	return trimOldest(steps, stepSize, MaxAutomationBytes)
}

// TrimAlerts drops the newest alerts until they are within
// MaxAlertsBytes: the first alerts are what the postmortem's key times
// come from.
func TrimAlerts(alerts []IncidentAlert) []IncidentAlert {
	total, keep := 0, 0
	for _, a := range alerts {
		if total+alertSize(a) > MaxAlertsBytes {
			break
		}
		total += alertSize(a)
		keep++
	}
	return alerts[:keep]
}

func trimOldest[T any](list []T, size func(T) int, budget int) []T {
	total := 0
	for i := len(list) - 1; i >= 0; i-- {
		total += size(list[i])
		if total > budget {
			return append([]T(nil), list[i+1:]...)
		}
	}
	return list
}
