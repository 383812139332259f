// Package report holds the report actions: the postmortem of an incident,
// rendered by internal/render/markdown and written to the postmortem
// directory.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/internal/render/markdown"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

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
	md, err := markdown.Render(&inc, tmpl)
	if err != nil {
		return nil, actions.Permanent(err)
	}
	// The file and the answer hold what the record holds, redacted
	// again: records written before redaction covered every field.
	md = redact.Text(md)
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
		return markdown.Parse("postmortem", markdown.DefaultTemplate())
	}
	data, err := os.ReadFile(a.cfg.Template)
	if err != nil {
		return nil, fmt.Errorf("postmortem template: %w", err)
	}
	return markdown.Parse(filepath.Base(a.cfg.Template), string(data))
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
