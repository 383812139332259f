package console

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// maxShown caps a value shown on a page (outputs, inputs): records are
// redacted already; this keeps one huge output from making a huge page.
const maxShown = 4000

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"ts": func(t any) string {
		switch t := t.(type) {
		case time.Time:
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		case *time.Time:
			if t == nil || t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		}
		return ""
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"took": func(start any, end *time.Time, now time.Time) string {
		var s time.Time
		switch v := start.(type) {
		case time.Time:
			s = v
		case *time.Time:
			if v == nil {
				return ""
			}
			s = *v
		}
		if s.IsZero() {
			return ""
		}
		e := now
		if end != nil {
			e = *end
		}
		return humanDuration(e.Sub(s))
	},
	"json": func(v any) string {
		if v == nil {
			return ""
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return fmt.Sprint(v)
		}
		s := string(b)
		if len(s) > maxShown {
			s = s[:maxShown] + "\n… (truncated; the full record is in the API and the Temporal history)"
		}
		return s
	},
	"icon": func(status string) string {
		if i, ok := runwire.StepIcons[status]; ok {
			return i
		}
		return "·"
	},
	"label": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"join":  strings.Join,
	"keys": func(m map[string]string) []string {
		out := make([]string, 0, len(m))
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	},
	"sel":       func(a, b string) bool { return a == b },
	"hasPrefix": strings.HasPrefix,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"pct": func(f float64) int { return int(f + 0.5) },
}

func humanDuration(d time.Duration) string {
	switch {
	case d < 0:
		return ""
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
}

// parseTemplates parses each page with the layout and the shared blocks;
// a broken template fails at start-up, not on a request.
func parseTemplates() map[string]*template.Template {
	shared := []string{"templates/layout.html", "templates/blocks.html"}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "blocks" {
			continue
		}
		t := template.New(name).Funcs(funcs)
		out[name] = template.Must(t.ParseFS(templateFS, append(shared, f)...))
	}
	return out
}
