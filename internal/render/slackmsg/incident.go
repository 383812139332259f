package slackmsg

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	slackgo "github.com/slack-go/slack"

	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// IncidentText is the summary's text, for notifications: Slack reads it
// as markup, so what people wrote is escaped.
func IncidentText(inc *incidentwire.Incident) string {
	return escape(fmt.Sprintf("%s [%s] %s — %s", inc.ID, strings.ToUpper(inc.Severity), inc.Title, inc.Status))
}

// IncidentBlocks renders the pinned summary: title, fields, links, runs
// and the latest timeline entries.
func IncidentBlocks(inc *incidentwire.Incident) []slackgo.Block {
	title := fmt.Sprintf("%s %s: %s", incidentIcon(inc), inc.ID, inc.Title)
	blocks := []slackgo.Block{
		slackgo.NewHeaderBlock(slackgo.NewTextBlockObject(slackgo.PlainTextType, truncate(title, 150), false, false)),
	}
	field := func(name, value string) *slackgo.TextBlockObject {
		if value == "" {
			value = "—"
		}
		return slackgo.NewTextBlockObject(slackgo.MarkdownType, "*"+name+"*\n"+escape(value), false, false)
	}
	var roles []string
	for _, r := range incidentwire.IncidentRoles {
		if r == incidentwire.RoleCommander {
			continue
		}
		if u := inc.Roles[r]; u != "" {
			roles = append(roles, r+": "+u)
		}
	}
	fields := []*slackgo.TextBlockObject{
		field("Severity", strings.ToUpper(inc.Severity)),
		field("Status", inc.Status),
		field("Commander", inc.Commander),
		field("Roles", strings.Join(roles, ", ")),
		field("Services", strings.Join(inc.Services, ", ")),
		field("Declared", inc.DeclaredAt.UTC().Format(time.RFC3339)+" by "+inc.DeclaredBy),
	}
	blocks = append(blocks, slackgo.NewSectionBlock(nil, fields, nil))
	var links []string
	for _, l := range inc.Links {
		switch {
		case l.URL != "":
			links = append(links, Link(l.URL, orDefault(l.Title, l.Kind)))
		default:
			links = append(links, escape(orDefault(l.Title, l.Kind+" "+l.ID)))
		}
	}
	if len(inc.Runs) > 0 {
		links = append(links, "runs: "+escape(strings.Join(inc.Runs, ", ")))
	}
	if len(links) > 0 {
		blocks = append(blocks, slackgo.NewSectionBlock(slackgo.NewTextBlockObject(slackgo.MarkdownType, truncate(strings.Join(links, " · "), 2900), false, false), nil, nil))
	}
	if len(inc.Timeline) > 0 {
		var b strings.Builder
		for _, e := range inc.Timeline {
			who := ""
			if e.By != "" {
				who = " (" + e.By + ")"
			}
			fmt.Fprintf(&b, "`%s` *%s* %s%s\n", e.At.UTC().Format("15:04:05"), escape(e.Kind), escape(e.Text), escape(who))
		}
		blocks = append(blocks, slackgo.NewContextBlock("timeline", slackgo.NewTextBlockObject(slackgo.MarkdownType, truncate(b.String(), 2900), false, false)))
	}
	return blocks
}

func incidentIcon(inc *incidentwire.Incident) string {
	if inc.Status == incidentwire.IncidentResolved {
		return "✅"
	}
	if incidentwire.HaltsChaos(inc.Severity) {
		return "🔴"
	}
	return "🟠"
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Link is a mrkdwn link to url showing text. A URL a person gave cannot
// end the link early or split it: <, > and | are percent-encoded, as are
// whitespace and control characters, and & is escaped as Slack asks; an
// address that is not http(s) is shown as text, not as a link.
func Link(url, text string) string {
	u := strings.TrimSpace(url)
	lower := strings.ToLower(u)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return escape(text + " " + url)
	}
	var b strings.Builder
	for _, r := range u {
		switch {
		case r == '<', r == '>', r == '|', r == ' ', r == '"', r < 0x20, r == 0x7f:
			fmt.Fprintf(&b, "%%%02X", r)
		case unicode.IsSpace(r):
			for _, c := range []byte(string(r)) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		case r == '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return "<" + b.String() + "|" + escape(text) + ">"
}
