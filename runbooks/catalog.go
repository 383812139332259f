package runbooks

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"

	"github.com/firebreak-ops/firebreak/internal/source"
)

//go:embed catalog/*.yaml
var builtin embed.FS

// Catalog is a set of compiled runbooks by name.
type Catalog struct {
	plans map[string]*Plan
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog { return &Catalog{plans: map[string]*Plan{}} }

// Builtin loads the catalog shipped inside the binary.
func Builtin() (*Catalog, error) {
	c := NewCatalog()
	return c, c.LoadFS(builtin, "catalog", "catalog")
}

// Get returns the runbook with the given name.
func (c *Catalog) Get(name string) (*Plan, bool) {
	p, ok := c.plans[name]
	return p, ok
}

// List returns every runbook, sorted by name.
func (c *Catalog) List() []*Plan {
	out := make([]*Plan, 0, len(c.plans))
	for _, p := range c.plans {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Len returns how many runbooks the catalog holds.
func (c *Catalog) Len() int { return len(c.plans) }

// add puts plans in the catalog; a name used twice is an error.
func (c *Catalog) add(plans []*Plan, errs *source.Errors) {
	for _, p := range plans {
		if old, dup := c.plans[p.Name()]; dup {
			errs.Add(p.Runbook.File, p.Runbook.Metadata.Pos.Of("name"), "runbook %q is already defined in %s", p.Name(), old.Runbook.File)
			continue
		}
		c.plans[p.Name()] = p
	}
}

// LoadFS loads every *.yaml and *.yml file under dir in fsys; shown is the
// path printed in errors for dir.
func (c *Catalog) LoadFS(fsys fs.FS, dir, shown string) error {
	return source.WalkYAML(fsys, dir, shown, func(name string, data []byte) error {
		var errs source.Errors
		plans, err := Load(name, data)
		errs.Append(name, err)
		c.add(plans, &errs)
		return errs.Err()
	})
}

// LoadPath loads a runbook file, or every runbook file under a directory.
func (c *Catalog) LoadPath(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if st.IsDir() {
		return c.LoadFS(os.DirFS(path), ".", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var errs source.Errors
	plans, lerr := Load(path, data)
	errs.Append(path, lerr)
	c.add(plans, &errs)
	return errs.Err()
}
