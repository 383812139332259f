package experiments

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

// Catalog is a set of compiled experiments and game days by name.
type Catalog struct {
	plans    map[string]*Plan
	gameDays map[string]*GameDay
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{plans: map[string]*Plan{}, gameDays: map[string]*GameDay{}}
}

// Builtin loads the experiments shipped inside the binary.
func Builtin() (*Catalog, error) {
	c := NewCatalog()
	if err := c.LoadFS(builtin, "catalog", "experiments/catalog"); err != nil {
		return nil, err
	}
	return c, c.Check()
}

// Get returns the experiment with the given name.
func (c *Catalog) Get(name string) (*Plan, bool) {
	p, ok := c.plans[name]
	return p, ok
}

// GameDay returns the game day with the given name.
func (c *Catalog) GameDay(name string) (*GameDay, bool) {
	g, ok := c.gameDays[name]
	return g, ok
}

// List returns every experiment, sorted by name.
func (c *Catalog) List() []*Plan {
	out := make([]*Plan, 0, len(c.plans))
	for _, p := range c.plans {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// GameDays returns every game day, sorted by name.
func (c *Catalog) GameDays() []*GameDay {
	out := make([]*GameDay, 0, len(c.gameDays))
	for _, g := range c.gameDays {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Len returns how many experiments the catalog holds.
func (c *Catalog) Len() int { return len(c.plans) }

// Check verifies that every game day names experiments the catalog has.
// Call it after every file is loaded.
func (c *Catalog) Check() error { return c.CheckWith(nil) }

// CheckWith is Check where game days may also name experiments of other,
// as when files are validated on their own beside the built-in catalog.
func (c *Catalog) CheckWith(other *Catalog) error {
	var errs source.Errors
	has := func(n string) bool {
		if _, ok := c.plans[n]; ok {
			return true
		}
		if other != nil {
			_, ok := other.plans[n]
			return ok
		}
		return false
	}
	for _, g := range c.GameDays() {
		errs.Append(g.File, g.checkRefs(has))
	}
	return errs.Err()
}

func (c *Catalog) add(plans []*Plan, days []*GameDay, errs *source.Errors) {
	for _, p := range plans {
		if old, dup := c.plans[p.Name()]; dup {
			errs.Add(p.Experiment.File, p.Experiment.Metadata.Pos.Of("name"), "experiment %q is already defined in %s", p.Name(), old.Experiment.File)
			continue
		}
		c.plans[p.Name()] = p
	}
	for _, g := range days {
		if old, dup := c.gameDays[g.Name()]; dup {
			errs.Add(g.File, g.Metadata.Pos.Of("name"), "game day %q is already defined in %s", g.Name(), old.File)
			continue
		}
		c.gameDays[g.Name()] = g
	}
}

// LoadFile loads one file's experiments and game days; shown is the path
// printed in errors.
func (c *Catalog) LoadFile(shown string, data []byte) error {
	var errs source.Errors
	plans, days, err := Load(shown, data)
	errs.Append(shown, err)
	c.add(plans, days, &errs)
	return errs.Err()
}

// LoadFS loads every *.yaml and *.yml file under dir in fsys.
func (c *Catalog) LoadFS(fsys fs.FS, dir, shown string) error {
	return source.WalkYAML(fsys, dir, shown, c.LoadFile)
}

// LoadPath loads an experiment file, or every such file under a directory.
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
	return c.LoadFile(path, data)
}
