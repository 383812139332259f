package cli

import (
	"fmt"
	"time"

	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	"github.com/spf13/cobra"
)

func newAutomationCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "automation", Short: "Kill switch and circuit breaker of alert-started runs"}
	var by, reason string
	var asJSON bool
	show := func(st *automationwire.AutomationState) {
		switch {
		case st.Paused:
			fmt.Fprintf(g.out, "automation: PAUSED by %s (%s)\n", st.PausedBy, st.PauseReason)
		case st.Circuit.Open:
			fmt.Fprintf(g.out, "automation: CIRCUIT OPEN since %s: %s\n", st.Circuit.OpenedAt.Local().Format(time.DateTime), st.Circuit.Reason)
		default:
			fmt.Fprintln(g.out, "automation: on")
		}
		fmt.Fprintf(g.out, "automatic runs finished: %d (failed %d); suppressed alerts: %d\n", st.Finished, st.Failed, st.SuppressedTotal)
		n := len(st.Suppressed)
		for i := max(0, n-10); i < n; i++ {
			s := st.Suppressed[i]
			fmt.Fprintf(g.out, "  %s  %-24s %-24s %s\n", s.At.Local().Format(time.DateTime), s.Runbook, s.Key, s.Reason)
		}
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Show whether automatic runs are allowed, and recent suppressions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var st automationwire.AutomationState
			if err := g.client().do(cmd.Context(), "GET", "/v1/automation", nil, &st); err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, st)
			}
			show(&st)
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	switchCmd := func(verb, short string) *cobra.Command {
		c := &cobra.Command{
			Use:   verb,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var st automationwire.AutomationState
				if err := g.client().do(cmd.Context(), "POST", "/v1/automation/"+verb, automationwire.SwitchRequest{By: by, Reason: reason}, &st); err != nil {
					return err
				}
				show(&st)
				return nil
			},
		}
		c.Flags().StringVar(&by, "by", currentUser(), "who")
		c.Flags().StringVar(&reason, "reason", "", "why (shown to everyone whose alerts are held)")
		return c
	}
	cmd.AddCommand(status,
		switchCmd("pause", "Stop all new automatic runs (manual runs still work)"),
		switchCmd("resume", "Allow automatic runs again and close an open circuit"))
	return cmd
}
