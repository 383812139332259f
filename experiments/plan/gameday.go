package plan

import (
	"fmt"
	"time"

	"github.com/firebreak-ops/firebreak/internal/source"
)

// GameDay runs experiments on a schedule: groups one after another, the
// experiments of a group one after another or all at once.
type GameDay struct {
	APIVersion string           `yaml:"apiVersion" json:"apiVersion"`
	Kind       string           `yaml:"kind" json:"kind"`
	Metadata   Metadata         `yaml:"metadata" json:"metadata"`
	Spec       GameDaySpec      `yaml:"spec" json:"spec"`
	File       string           `yaml:"-" json:"-"`
	Pos        source.Positions `yaml:"-" json:"-"`
}

// Name returns metadata.name.
func (g *GameDay) Name() string { return g.Metadata.Name }

// GameDaySpec is a game day's schedule and experiments.
type GameDaySpec struct {
	// Schedule is a cron expression (five fields, or @daily and friends).
	Schedule string `yaml:"schedule" json:"schedule"`
	// TimeZone is an IANA zone name for the schedule (default UTC).
	TimeZone string `yaml:"timeZone" json:"timeZone,omitempty"`
	// CatchupWindow is how late a missed start may still run (default 10m).
	CatchupWindow source.Duration `yaml:"catchupWindow" json:"catchupWindow,omitempty"`
	// Paused creates the schedule paused.
	Paused bool `yaml:"paused" json:"paused,omitempty"`
	// DryRun runs every experiment as a dry run.
	DryRun bool             `yaml:"dryRun" json:"dryRun,omitempty"`
	Groups []Group          `yaml:"groups" json:"groups"`
	Pos    source.Positions `yaml:"-" json:"-"`
}

// Group is a set of experiments run together.
type Group struct {
	Experiments []string         `yaml:"experiments" json:"experiments"`
	Parallel    bool             `yaml:"parallel" json:"parallel,omitempty"`
	Pos         source.Positions `yaml:"-" json:"-"`
}

// DefaultCatchupWindow applies when a game day names none.
const DefaultCatchupWindow = source.Duration(10 * time.Minute)

// Check validates a game day and fills its defaults.
func (g *GameDay) Check() error {
	var errs source.Errors
	add := func(pos source.Pos, format string, args ...any) { errs.Add(g.File, pos, format, args...) }
	if g.APIVersion != APIVersion {
		add(g.Pos.Of("apiVersion"), "apiVersion must be %q, not %q", APIVersion, g.APIVersion)
	}
	switch {
	case g.Metadata.Name == "":
		add(g.Pos.Of("metadata"), "metadata.name is required")
	case !nameRe.MatchString(g.Metadata.Name):
		add(g.Metadata.Pos.Of("name"), "metadata.name %q must be lower-case letters, digits and dashes, at most 47 characters", g.Metadata.Name)
	}
	s := &g.Spec
	if s.Schedule == "" {
		add(g.Pos.Of("spec"), "spec.schedule is required (a cron expression such as \"0 14 * * TUE\")")
	} else if _, err := cronParser.Parse(s.Schedule); err != nil {
		add(s.Pos.Of("schedule"), "spec.schedule: %v", err)
	}
	if s.TimeZone != "" {
		if _, err := time.LoadLocation(s.TimeZone); err != nil {
			add(s.Pos.Of("timeZone"), "spec.timeZone: unknown zone %q", s.TimeZone)
		}
	}
	if s.CatchupWindow < 0 {
		add(s.Pos.Of("catchupWindow"), "spec.catchupWindow must be positive")
	}
	if s.CatchupWindow == 0 {
		s.CatchupWindow = DefaultCatchupWindow
	}
	if len(s.Groups) == 0 {
		add(g.Pos.Of("spec"), "spec.groups is required: list the experiments to run")
	}
	for i, gr := range s.Groups {
		if len(gr.Experiments) == 0 {
			add(gr.Pos.Of(""), "spec.groups[%d].experiments is empty", i)
		}
	}
	return errs.Err()
}

// CheckRefs reports experiments a game day names that has does not know.
func (g *GameDay) CheckRefs(has func(string) bool) error {
	var errs source.Errors
	for i, gr := range g.Spec.Groups {
		for j, name := range gr.Experiments {
			if !has(name) {
				errs.Add(g.File, gr.Pos.Of("experiments"), "spec.groups[%d].experiments[%d]: no experiment is named %q", i, j, name)
			}
		}
	}
	return errs.Err()
}

// Experiments lists every experiment the game day runs, in order.
func (g *GameDay) Experiments() []string {
	var out []string
	for _, gr := range g.Spec.Groups {
		out = append(out, gr.Experiments...)
	}
	return out
}

// String describes the game day's shape, e.g. "2 groups, 3 experiments".
func (g *GameDay) String() string {
	return fmt.Sprintf("%d groups, %d experiments", len(g.Spec.Groups), len(g.Experiments()))
}
