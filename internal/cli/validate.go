package cli

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/source"
	"github.com/firebreak-ops/firebreak/runbooks"
)

func newValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate PATH...",
		Short: "Type-check runbook, experiment and game day files and directories; print every error as path:line:col",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var errs source.Errors
			books := runbooks.NewCatalog()
			// Game days may name built-in experiments.
			builtin, err := experiments.Builtin()
			if err != nil {
				return err
			}
			exps := experiments.NewCatalog()
			for _, p := range args {
				files, err := yamlFiles(p)
				if err != nil {
					errs.Append(p, err)
					continue
				}
				for _, f := range files {
					data, err := os.ReadFile(f)
					if err != nil {
						errs.Append(f, err)
						continue
					}
					if isExperimentFile(data) {
						errs.Append(f, exps.LoadFile(f, data))
					} else {
						errs.Append(f, books.LoadPath(f))
					}
				}
			}
			errs.Append("", exps.CheckWith(builtin))
			if len(errs) > 0 {
				errs.Sort()
				for _, e := range errs {
					fmt.Fprintln(g.errOut, e.Error())
				}
				fmt.Fprintf(g.errOut, "%d error(s)\n", len(errs))
				return exitError{code: 1}
			}
			fmt.Fprintf(g.out, "ok: %d runbook(s), %d experiment(s), %d game day(s) valid\n",
				books.Len(), exps.Len(), len(exps.GameDays()))
			return nil
		},
	}
}

// isExperimentFile reports whether a file's first document is an
// experiment or a game day.
func isExperimentFile(data []byte) bool {
	for _, k := range experiments.KindOf(data) {
		return k == plan.KindExperiment || k == plan.KindGameDay
	}
	return false
}

// yamlFiles lists path itself, or every YAML file under a directory.
func yamlFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && source.IsYAML(p) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
