package runbooks

import (
	"embed"
	"io/fs"

	"github.com/firebreak-ops/firebreak/internal/source"
)

//go:embed catalog/*.yaml
var builtin embed.FS

// Catalog is a set of compiled runbooks by name.
type Catalog struct {
	plans *source.Named[*Plan]
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{plans: source.NewNamed[*Plan]("runbook")} }

// Builtin loads the catalog shipped inside the binary.
func Builtin() (*Catalog, error) {
	c := NewCatalog()
	return c, c.LoadFS(builtin, "catalog", "catalog")
}

// Get returns the runbook with the given name.
func (c *Catalog) Get(name string) (*Plan, bool) { return c.plans.Get(name) }

// List returns every runbook, sorted by name.
func (c *Catalog) List() []*Plan { return c.plans.List() }

// Len returns how many runbooks the catalog holds.
func (c *Catalog) Len() int { return c.plans.Len() }

// loadFile loads one file's runbooks; a name used twice is an error.
func (c *Catalog) loadFile(name string, data []byte) error {
	var errs source.Errors
	plans, err := Load(name, data)
	errs.Append(name, err)
	for _, p := range plans {
		c.plans.Add(p.Name(), p.Runbook.File, p.Runbook.Metadata.Pos.Of("name"), p, &errs)
	}
	return errs.Err()
}

// LoadFS loads every *.yaml and *.yml file under dir in fsys; shown is the
// path printed in errors for dir.
func (c *Catalog) LoadFS(fsys fs.FS, dir, shown string) error {
	return source.WalkYAML(fsys, dir, shown, c.loadFile)
}

// LoadPath loads a runbook file, or every runbook file under a directory.
func (c *Catalog) LoadPath(path string) error { return source.LoadPath(path, c.loadFile) }
