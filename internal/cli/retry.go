package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firebreak-ops/firebreak/internal/runs"
)

// newRetryCmd is `runs retry RUN [--from STEP] [--reason …]`: the finished
// run goes on from a step, the steps before it kept from its history.
func newRetryCmd(g *globals) *cobra.Command {
	var req runs.RetryRequest
	var wait bool
	cmd := &cobra.Command{
		Use:   "retry RUN [--from STEP] [--reason TEXT]",
		Short: "Retry a finished run from the step that failed (or --from a step); earlier steps do not run again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			var res runs.RetryResult
			if err := c.do(cmd.Context(), "POST", runPath(args[0], "/retry"), req, &res); err != nil {
				return err
			}
			what := "retrying"
			if res.Duplicate {
				what = "already retried (this request was taken before):"
			}
			fmt.Fprintf(g.out, "%s %s from step %s\n", what, res.ID, res.From)
			if res.Name != "" {
				fmt.Fprintf(g.out, "  name: %s\n", res.Name)
			}
			if len(res.Kept) > 0 {
				fmt.Fprintf(g.out, "  kept from the history, not run again: %s\n", strings.Join(res.Kept, ", "))
			}
			if len(res.RolledBack) > 0 {
				fmt.Fprintf(g.out, "  note: the failed run rolled back %s; the retry does not redo them\n", strings.Join(res.RolledBack, ", "))
			}
			fmt.Fprintf(g.out, "  %s\n", res.Note)
			if res.URL != "" {
				fmt.Fprintf(g.out, "  history: %s\n", res.URL)
			}
			if !wait {
				return nil
			}
			return follow(cmd.Context(), c, res.ID, g.out)
		},
	}
	cmd.Flags().StringVar(&req.From, "from", "", "the step to go on from (default: the step that failed)")
	cmd.Flags().StringVar(&req.Reason, "reason", "", "why (recorded with the run and in the audit export)")
	cmd.Flags().StringVar(&req.By, "by", currentUser(), "who retries")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the run and exit non-zero unless it succeeds")
	return cmd
}

// newRerunCmd is `runs rerun RUN`: a new run of the same runbook (as the
// catalog has it now) with the params RUN started with.
func newRerunCmd(g *globals) *cobra.Command {
	var req runs.RerunRequest
	var wait bool
	cmd := &cobra.Command{
		Use:   "rerun RUN",
		Short: "Start a new run of the same runbook with the same params",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			var ref runs.Ref
			if err := c.do(cmd.Context(), "POST", runPath(args[0], "/rerun"), req, &ref); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "started %s with the params of %s\n", ref.ID, args[0])
			if ref.Name != "" {
				fmt.Fprintf(g.out, "  name: %s\n", ref.Name)
			}
			if ref.URL != "" {
				fmt.Fprintf(g.out, "  history: %s\n", ref.URL)
			}
			if !wait {
				return nil
			}
			return follow(cmd.Context(), c, ref.ID, g.out)
		},
	}
	cmd.Flags().StringVar(&req.RequestedBy, "by", currentUser(), "who is asking (recorded with the run)")
	cmd.Flags().BoolVar(&req.DryRun, "dry-run", false, "a dry run with those params")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the run and exit non-zero unless it succeeds")
	return cmd
}
