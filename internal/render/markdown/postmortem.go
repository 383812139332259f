package markdown

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"time"

	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

//go:embed postmortem.md.tmpl
var defaultTemplate string

// DefaultTemplate returns the built-in postmortem template, a starting
// point for one's own.
func DefaultTemplate() string { return defaultTemplate }

// Parse parses a postmortem template with the report's functions.
func Parse(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("postmortem template: %w", err)
	}
	return t, nil
}

var funcs = template.FuncMap{
	"upper": strings.ToUpper,
	"join":  strings.Join,
	"time": func(v any) string {
		switch t := v.(type) {
		case time.Time:
			return clock(t)
		case *time.Time:
			if t == nil {
				return "—"
			}
			return clock(*t)
		}
		return "—"
	},
	"cell":     cell,
	"link":     linkCell,
	"labels":   labelText,
	"duration": Duration,
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return "—"
	}
	s = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ").Replace(s)
	return s
}

func linkCell(l incidentwire.Link) string {
	title := l.Title
	if title == "" {
		title = strings.TrimSpace(l.Kind + " " + l.ID)
	}
	if l.URL != "" {
		return fmt.Sprintf("[%s](%s)", cell(title), l.URL)
	}
	return cell(title)
}

func labelText(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, " ")
}

// Duration writes a duration for people: 42s, 12m 5s, 3h 4m, 2d 1h.
func Duration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < 0:
		return "—"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return trimZero(fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60))
	case d < 48*time.Hour:
		return trimZero(fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60))
	}
	return trimZero(fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24))
}

func trimZero(s string) string {
	for _, z := range []string{" 0s", " 0m", " 0h"} {
		s = strings.TrimSuffix(s, z)
	}
	return s
}
