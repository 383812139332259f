package experiments

import (
	"embed"
	"io/fs"

	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/source"
)

//go:embed catalog/*.yaml
var builtin embed.FS

// Catalog is a set of compiled experiments and game days by name.
type Catalog struct {
	plans    *source.Named[*plan.Plan]
	gameDays *source.Named[*plan.GameDay]
}

// NewCatalog returns an empty catalog.
func NewCatalog() *Catalog {
	return &Catalog{plans: source.NewNamed[*plan.Plan]("experiment"), gameDays: source.NewNamed[*plan.GameDay]("game day")}
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
func (c *Catalog) Get(name string) (*plan.Plan, bool) { return c.plans.Get(name) }

// GameDay returns the game day with the given name.
func (c *Catalog) GameDay(name string) (*plan.GameDay, bool) { return c.gameDays.Get(name) }

// List returns every experiment, sorted by name.
func (c *Catalog) List() []*plan.Plan { return c.plans.List() }

// GameDays returns every game day, sorted by name.
func (c *Catalog) GameDays() []*plan.GameDay { return c.gameDays.List() }

// Len returns how many experiments the catalog holds.
func (c *Catalog) Len() int { return c.plans.Len() }

// Check verifies that every game day names experiments the catalog has.
// Call it after every file is loaded.
func (c *Catalog) Check() error { return c.CheckWith(nil) }

// CheckWith is Check where game days may also name experiments of other,
// as when files are validated on their own beside the built-in catalog.
func (c *Catalog) CheckWith(other *Catalog) error {
	var errs source.Errors
	has := func(n string) bool {
		return c.plans.Has(n) || (other != nil && other.plans.Has(n))
	}
	for _, g := range c.GameDays() {
		errs.Append(g.File, g.CheckRefs(has))
	}
	return errs.Err()
}

// LoadFile loads one file's experiments and game days; shown is the path
// printed in errors.
func (c *Catalog) LoadFile(shown string, data []byte) error {
	var errs source.Errors
	plans, days, err := Load(shown, data)
	errs.Append(shown, err)
	for _, p := range plans {
		c.plans.Add(p.Name(), p.Experiment.File, p.Experiment.Metadata.Pos.Of("name"), p, &errs)
	}
	for _, g := range days {
		c.gameDays.Add(g.Name(), g.File, g.Metadata.Pos.Of("name"), g, &errs)
	}
	return errs.Err()
}

// LoadFS loads every *.yaml and *.yml file under dir in fsys.
func (c *Catalog) LoadFS(fsys fs.FS, dir, shown string) error {
	return source.WalkYAML(fsys, dir, shown, c.LoadFile)
}

// LoadPath loads an experiment file, or every such file under a directory.
func (c *Catalog) LoadPath(path string) error { return source.LoadPath(path, c.LoadFile) }
