package slackmsg

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/firebreak-ops/firebreak/internal/redact"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
	slackgo "github.com/slack-go/slack"
)

// Action IDs of the approval buttons and of a failed run's retry button.
const (
	ActionApprove = "firebreak_approve"
	ActionDeny    = "firebreak_deny"
	ActionRetry   = "firebreak_retry"
)

// ButtonValue is the value of a run's button: which run (its name, or its
// ID for runs without one) and step it decides or retries from.
type ButtonValue struct {
	Run  string `json:"run"`
	Step string `json:"step"`
}

// Bounds that keep a message well inside Slack's limits (50 blocks, 3000
// characters a section, 150 a header).
const (
	maxStepLines    = 25
	maxRollbackLine = 10
	maxLineChars    = 600
	maxSectionChars = 2900
	maxErrorChars   = 300
)

var runIcons = map[string]string{
	runwire.StatusRunning:         "▶",
	runwire.StatusWaitingApproval: "⏸",
	runwire.StatusSucceeded:       "✓",
	runwire.StatusFailed:          "✗",
	runwire.StatusCancelled:       "⊘",
}

func stepIcon(status string) string {
	if i, ok := runwire.StepIcons[status]; ok {
		return i
	}
	return "·"
}

func runIcon(status string) string {
	if i, ok := runIcons[status]; ok {
		return i
	}
	return "·"
}

func statusWords(status string) string {
	if status == runwire.StatusWaitingApproval {
		return "waiting for approval"
	}
	if status == "" {
		return "starting"
	}
	return strings.ReplaceAll(status, "_", " ")
}

// RunText is the text of a run's message: what notifications and screen
// readers show. Slack reads it as markup, so every part is escaped.
func RunText(st *runwire.RunState) string {
	return escape(runText(st))
}

func runText(st *runwire.RunState) string {
	var b strings.Builder
	b.WriteString(runIcon(st.Status) + " " + st.Runbook)
	if st.DryRun {
		b.WriteString(" (dry run)")
	}
	switch st.Status {
	case runwire.StatusWaitingApproval:
		b.WriteString(" needs approval")
		if s := waitingStep(st); s != nil {
			b.WriteString(" for " + s.Name)
		}
	case runwire.StatusFailed:
		b.WriteString(" failed")
		if st.Error != "" {
			b.WriteString(": " + truncate(redact.Text(st.Error), maxErrorChars))
		}
	case runwire.StatusCancelled:
		b.WriteString(" was cancelled")
	case runwire.StatusRunning:
		b.WriteString(" is running")
		if s := currentStep(st); s != nil {
			b.WriteString(" (" + s.Name + ")")
		}
	default:
		b.WriteString(" " + statusWords(st.Status))
	}
	b.WriteString(" — " + st.ID)
	return b.String()
}

// RunBlocks renders a run as a Block Kit message: a header with its status,
// who and what started it, one line per step, the rollback, and while a
// step waits for approval, who may decide and the Approve and Deny buttons.
// uiURL, when set, adds a link to the run's history in the Temporal UI.
func RunBlocks(st *runwire.RunState, uiURL string) []slackgo.Block {
	return RunBlocksWith(st, Links{UI: uiURL})
}

// Links are the base URLs a run's message links to: the Temporal Web UI
// (its history) and the console (its page); either may be empty.
type Links struct {
	UI      string
	Console string
}

// RunBlocksWith is RunBlocks with a link to the run's console page too.
func RunBlocksWith(st *runwire.RunState, links Links) []slackgo.Block {
	blocks := []slackgo.Block{
		slackgo.NewHeaderBlock(plain(truncate(fmt.Sprintf("%s %s — %s", runIcon(st.Status), st.Runbook, statusWords(st.Status)), 150))),
		slackgo.NewContextBlock("run", mrkdwn(contextLine(st, links))),
	}
	ref := st.StartedAt
	lines := []string{}
	for _, it := range collapse(st.Steps, maxStepLines) {
		if it.step != nil {
			lines = append(lines, stepLine(it.step, ref, false))
		} else {
			lines = append(lines, it.summary)
		}
	}
	if len(lines) == 0 {
		lines = append(lines, "_no steps_")
	}
	blocks = append(blocks, sections("steps", lines)...)

	if len(st.Rollback) > 0 {
		lines = []string{"*Rollback*"}
		for _, it := range collapse(st.Rollback, maxRollbackLine) {
			if it.step != nil {
				lines = append(lines, stepLine(it.step, ref, true))
			} else {
				lines = append(lines, it.summary)
			}
		}
		blocks = append(blocks, sections("rollback", lines)...)
	}
	if st.Error != "" && st.Done() {
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn("*Error:* "+escape(truncate(redact.Text(st.Error), 1000))), nil, nil, slackgo.SectionBlockOptionBlockID("error")))
	}
	if s := waitingStep(st); s != nil && !st.Done() {
		blocks = append(blocks, approvalBlocks(st, s, ref)...)
	}
	if s := failedStep(st); s != nil && st.Status == runwire.StatusFailed && !st.DryRun {
		blocks = append(blocks, retryBlock(st, s))
	}
	return blocks
}

// failedStep is the step a failed run stopped at, if any.
func failedStep(st *runwire.RunState) *runwire.StepState {
	for i := range st.Steps {
		if st.Steps[i].Status == runwire.StepFailed && st.Steps[i].StartedAt != nil {
			return &st.Steps[i]
		}
	}
	return nil
}

// retryBlock is the "Retry from <step>" button of a failed run. It names
// the run by its name, which no later run of the same key shares.
func retryBlock(st *runwire.RunState, s *runwire.StepState) slackgo.Block {
	run := st.Name
	if run == "" {
		run = st.ID
	}
	value, _ := json.Marshal(ButtonValue{Run: run, Step: s.Name})
	retry := slackgo.NewButtonBlockElement(ActionRetry, string(value), plain(truncate("Retry from "+s.Name, 75)))
	return slackgo.NewActionBlock("retry", retry)
}

func contextLine(st *runwire.RunState, links Links) string {
	parts := []string{}
	if st.Trigger != "" {
		parts = append(parts, "trigger: "+escape(st.Trigger))
	}
	if st.RequestedBy != "" {
		parts = append(parts, "requested by "+who(st.RequestedBy))
	}
	parts = append(parts, "run `"+escape(st.ID)+"`")
	if st.Name != "" {
		parts = append(parts, "name `"+escape(st.Name)+"`")
	}
	if st.DryRun {
		parts = append(parts, "*dry run*")
	}
	if p := paramsText(st.Params); p != "" {
		parts = append(parts, "params: "+p)
	}
	if n := len(st.Retries); n > 0 {
		r := st.Retries[n-1]
		parts = append(parts, "retried from "+escape(r.From)+" by "+who(r.By))
	}
	if st.FinishedAt != nil && !st.StartedAt.IsZero() {
		parts = append(parts, "took "+duration(st.FinishedAt.Sub(st.StartedAt)))
	}
	if links.Console != "" && st.ID != "" {
		parts = append(parts, "<"+ConsoleRunURL(links.Console, st.ID)+"|console>")
	}
	if links.UI != "" && st.ID != "" {
		parts = append(parts, "<"+HistoryURL(links.UI, st.ID)+"|history>")
	}
	return truncate(strings.Join(parts, " · "), 2900)
}

// ConsoleRunURL links to a run's page in the console.
func ConsoleRunURL(consoleURL, runID string) string {
	return strings.TrimSuffix(consoleURL, "/") + "/runs/" + url.PathEscape(runID)
}

// HistoryURL links to a run's history in the Temporal Web UI.
func HistoryURL(uiURL, runID string) string {
	return strings.TrimSuffix(uiURL, "/") + "/namespaces/default/workflows/" + url.PathEscape(runID) + "/history"
}

// paramsText shows params, those named like secrets redacted.
func paramsText(params map[string]any) string {
	if len(params) == 0 {
		return ""
	}
	params = redact.Map(params)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v := params[k]
		var s string
		switch x := v.(type) {
		case string:
			s = x
		default:
			b, _ := json.Marshal(x)
			s = string(b)
		}
		parts = append(parts, escape(k+"="+truncate(s, 60)))
	}
	return truncate(strings.Join(parts, ", "), 400)
}

func stepLine(s *runwire.StepState, ref time.Time, rollback bool) string {
	head := stepIcon(s.Status) + " *" + escape(s.Name) + "*"
	if s.Action != "" {
		head += " `" + escape(s.Action) + "`"
	}
	if rollback && s.For != "" {
		head += " (for " + escape(s.For) + ")"
	}
	var parts []string
	switch s.Status {
	case runwire.StepWaitingApproval:
		parts = append(parts, "waiting for approval")
	case runwire.StepSkipped:
		if s.Decision == nil || s.Decision.Reason == "" {
			parts = append(parts, "skipped")
		}
	case runwire.StepRolledBack:
		parts = append(parts, "rolled back")
	}
	if s.FinishedAt != nil && s.StartedAt != nil && s.Status != runwire.StepSkipped {
		parts = append(parts, duration(s.FinishedAt.Sub(*s.StartedAt)))
	}
	if s.Attempts > 1 {
		parts = append(parts, fmt.Sprintf("%d attempts", s.Attempts))
	}
	if s.Decision != nil && s.Decision.Reason != "" {
		parts = append(parts, "_"+escape(truncate(s.Decision.Reason, 200))+"_")
	}
	if a := s.Approval; a != nil && a.Decision != "" {
		parts = append(parts, decisionText(a, ref))
	}
	if s.Error != "" && (s.Approval == nil || s.Approval.Decision == "") {
		parts = append(parts, "error: "+escape(truncate(redact.Text(s.Error), maxErrorChars)))
	}
	if len(parts) == 0 {
		return truncate(head, maxLineChars)
	}
	return truncate(head+" — "+strings.Join(parts, " — "), maxLineChars)
}

func decisionText(a *runwire.ApprovalState, ref time.Time) string {
	var b strings.Builder
	switch a.Decision {
	case runwire.DecisionTimedOut:
		b.WriteString("approval timed out")
	default:
		b.WriteString(escape(a.Decision))
		if a.By != "" {
			b.WriteString(" by " + who(a.By))
		}
	}
	if a.At != nil {
		b.WriteString(" at " + clock(*a.At, ref))
	}
	if a.Comment != "" {
		b.WriteString(": " + escape(truncate(a.Comment, 200)))
	}
	return b.String()
}

func approvalBlocks(st *runwire.RunState, s *runwire.StepState, ref time.Time) []slackgo.Block {
	a := s.Approval
	var b strings.Builder
	b.WriteString("*⏸ Approval needed: " + escape(s.Name) + "*")
	if a.Message != "" {
		b.WriteString("\n>" + strings.ReplaceAll(escape(truncate(a.Message, 1000)), "\n", "\n>"))
	}
	b.WriteString("\nWho may approve: ")
	if len(a.Approvers) == 0 {
		b.WriteString("anyone allowed to approve this runbook")
	} else {
		names := make([]string, 0, len(a.Approvers))
		for _, ap := range a.Approvers {
			names = append(names, who(ap))
		}
		b.WriteString(truncate(strings.Join(names, ", "), 1000))
	}
	if a.SeparateApprover && st.RequestedBy != "" {
		b.WriteString(" (not " + who(st.RequestedBy) + ", who requested the run)")
	}
	if !a.Deadline.IsZero() {
		b.WriteString("\nDeadline: " + clock(a.Deadline, ref))
		switch a.OnTimeout {
		case "continue":
			b.WriteString(", then the run continues without it")
		case "abort", "":
			b.WriteString(", then the run aborts")
		}
	}
	value, _ := json.Marshal(ButtonValue{Run: st.ID, Step: s.Name})
	approve := slackgo.NewButtonBlockElement(ActionApprove, string(value), plain("Approve")).WithStyle(slackgo.StylePrimary)
	deny := slackgo.NewButtonBlockElement(ActionDeny, string(value), plain("Deny")).WithStyle(slackgo.StyleDanger)
	return []slackgo.Block{
		slackgo.NewSectionBlock(mrkdwn(b.String()), nil, nil, slackgo.SectionBlockOptionBlockID("approval")),
		slackgo.NewActionBlock(truncate("decide:"+s.Name, 255), approve, deny),
	}
}

// waitingStep is the step waiting for a decision, if any.
func waitingStep(st *runwire.RunState) *runwire.StepState {
	for i := range st.Steps {
		s := &st.Steps[i]
		if s.Status == runwire.StepWaitingApproval && s.Approval != nil && s.Approval.Decision == "" {
			return s
		}
	}
	return nil
}

func currentStep(st *runwire.RunState) *runwire.StepState {
	for i := range st.Steps {
		if st.Steps[i].Status == runwire.StepRunning {
			return &st.Steps[i]
		}
	}
	return nil
}

// item is a step line or a summary standing in for several steps.
type item struct {
	step    *runwire.StepState
	summary string
}

// collapse keeps long step lists short: beyond max steps, only the first
// and last step and those worth reading (running, waiting, failed, rolled
// back, and their neighbours) keep their line; runs of the others become
// one summary line each.
func collapse(steps []runwire.StepState, max int) []item {
	out := make([]item, 0, len(steps))
	if len(steps) <= max {
		for i := range steps {
			out = append(out, item{step: &steps[i]})
		}
		return out
	}
	keep := make([]bool, len(steps))
	keep[0], keep[len(steps)-1] = true, true
	kept := 2
	mark := func(i int) {
		if i >= 0 && i < len(steps) && !keep[i] && kept < max {
			keep[i] = true
			kept++
		}
	}
	for i := range steps {
		switch steps[i].Status {
		case runwire.StepSucceeded, runwire.StepSkipped, runwire.StepPending:
		default:
			mark(i)
		}
	}
	for i := range steps {
		switch steps[i].Status {
		case runwire.StepSucceeded, runwire.StepSkipped, runwire.StepPending:
		default:
			mark(i - 1)
			mark(i + 1)
		}
	}
	for i := 0; i < len(steps); {
		if keep[i] {
			out = append(out, item{step: &steps[i]})
			i++
			continue
		}
		counts := map[string]int{}
		n := 0
		for ; i < len(steps) && !keep[i]; i++ {
			counts[steps[i].Status]++
			n++
		}
		out = append(out, item{summary: summaryLine(n, counts)})
	}
	return out
}

var statusOrder = []string{
	runwire.StepSucceeded, runwire.StepSkipped, runwire.StepFailed, runwire.StepRolledBack,
	runwire.StepRunning, runwire.StepWaitingApproval, runwire.StepPending,
}

func summaryLine(n int, counts map[string]int) string {
	var parts []string
	for _, s := range statusOrder {
		if c := counts[s]; c > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c, strings.ReplaceAll(s, "_", " ")))
			delete(counts, s)
		}
	}
	for s, c := range counts {
		parts = append(parts, fmt.Sprintf("%d %s", c, escape(s)))
	}
	noun := "steps"
	if n == 1 {
		noun = "step"
	}
	return fmt.Sprintf("_… %d %s: %s_", n, noun, strings.Join(parts, ", "))
}

// sections packs lines into as few section blocks as fit.
func sections(id string, lines []string) []slackgo.Block {
	var out []slackgo.Block
	var cur []string
	size := 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		blockID := id
		if len(out) > 0 {
			blockID = fmt.Sprintf("%s-%d", id, len(out))
		}
		out = append(out, slackgo.NewSectionBlock(mrkdwn(strings.Join(cur, "\n")), nil, nil, slackgo.SectionBlockOptionBlockID(blockID)))
		cur, size = nil, 0
	}
	for _, l := range lines {
		n := utf8.RuneCountInString(l) + 1
		if size+n > maxSectionChars {
			flush()
		}
		cur = append(cur, l)
		size += n
	}
	flush()
	return out
}

var slackUserID = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)

// who shows a principal: a Slack user ID as a mention, anything else as
// text.
func who(id string) string {
	if slackUserID.MatchString(id) {
		return "<@" + id + ">"
	}
	return escape(id)
}

// clock shows a time of day in UTC, with the date when it is not the
// run's start day.
func clock(t, ref time.Time) string {
	t = t.UTC()
	if ref.IsZero() || t.Format("2006-01-02") == ref.UTC().Format("2006-01-02") {
		return t.Format("15:04 UTC")
	}
	return t.Format("Jan 2 15:04 UTC")
}

// duration rounds a duration for people.
func duration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return d.Round(time.Second).String()
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

// escape makes text safe inside mrkdwn: Slack reads &, < and > as markup.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, true, false)
}

func mrkdwn(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}
