package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firebreak-ops/firebreak/internal/source"
	"github.com/firebreak-ops/firebreak/runbooks"
)

func newValidateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "validate PATH...",
		Short: "Type-check runbook files and directories; print every error as path:line:col",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var errs source.Errors
			total := 0
			for _, p := range args {
				cat := runbooks.NewCatalog()
				err := cat.LoadPath(p)
				errs.Append(p, err)
				total += cat.Len()
			}
			if len(errs) > 0 {
				errs.Sort()
				for _, e := range errs {
					fmt.Fprintln(g.errOut, e.Error())
				}
				fmt.Fprintf(g.errOut, "%d error(s)\n", len(errs))
				return exitError{code: 1}
			}
			fmt.Fprintf(g.out, "ok: %d runbook(s) valid\n", total)
			return nil
		},
	}
}
