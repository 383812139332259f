// Package report renders documents from Firebreak's records: the
// postmortem of an incident, as Markdown with a Mermaid gantt chart of its
// timeline, written to the postmortem directory.
package report

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

//go:embed postmortem.md.tmpl
var defaultTemplate string

// DefaultTemplate returns the built-in postmortem template, a starting
// point for one's own.
func DefaultTemplate() string { return defaultTemplate }

// Config says where postmortems go and how they look.
type Config struct {
	// Dir is the directory postmortems are written to; empty: not written
	// to disk, only returned.
	Dir string
	// Template is a Go text/template file replacing the built-in one.
	Template string
}

// Activities renders reports.
type Activities struct {
	cfg Config
}

// New builds the activities.
func New(cfg Config) *Activities { return &Activities{cfg: cfg} }

// Handlers returns the handler of each report action.
func (a *Activities) Handlers() map[string]actions.Handler {
	return map[string]actions.Handler{
		actions.ReportPostmortem: a.Postmortem,
	}
}

type postmortemInput struct {
	Incident json.RawMessage `json:"incident"`
}

// Postmortem renders an incident's postmortem and writes it to
// <dir>/<incident ID>.md, replacing an earlier one whole; it returns
// {"path", "markdown", "bytes"}, with "writeError" instead of "path" when
// the file could not be written.
func (a *Activities) Postmortem(_ context.Context, req actions.Request) (any, error) {
	var in postmortemInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	var inc incidentwire.Incident
	if len(in.Incident) == 0 || json.Unmarshal(in.Incident, &inc) != nil || !names.IsIncidentID(inc.ID) {
		return nil, actions.Permanentf("incident is required: an incident record with an INC-… id")
	}
	tmpl, err := a.template()
	if err != nil {
		return nil, actions.Permanent(err)
	}
	md, err := Render(&inc, tmpl)
	if err != nil {
		return nil, actions.Permanent(err)
	}
	out := map[string]any{"markdown": md, "bytes": len(md)}
	if a.cfg.Dir == "" {
		return out, nil
	}
	path := filepath.Join(a.cfg.Dir, inc.ID+".md")
	if err := writeFile(path, []byte(md)); err != nil {
		// The document lives on in the workflow's result and at the API;
		// a directory that cannot be written must not lose it.
		out["writeError"] = err.Error()
		return out, nil
	}
	out["path"] = path
	return out, nil
}

// template parses the configured template, or the built-in one. It is
// read on every call, so an edited template applies to the next
// postmortem.
func (a *Activities) template() (*template.Template, error) {
	if a.cfg.Template == "" {
		return Parse("postmortem", defaultTemplate)
	}
	data, err := os.ReadFile(a.cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("postmortem template: %w", err)
	}
	return Parse(filepath.Base(a.cfg.Template), string(data))
}

// writeFile writes through a temporary file and a rename, so a reader
// never sees half a postmortem.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("postmortem directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".postmortem-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

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
