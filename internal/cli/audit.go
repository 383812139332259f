package cli

import (
	"net/url"

	"github.com/spf13/cobra"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Compliance evidence: who did what, and when",
	}
	var since string
	export := &cobra.Command{
		Use:   "export",
		Short: "Print every run, guard decision, action, approval, refusal and incident command as JSON lines",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := g.client().raw(cmd.Context(), "/v1/audit?since="+url.QueryEscape(since))
			if err != nil {
				return err
			}
			_, err = g.out.Write(b)
			return err
		},
	}
	export.Flags().StringVar(&since, "since", "24h", "an RFC 3339 time, or a duration back from now (24h, 168h)")
	cmd.AddCommand(export)
	return cmd
}
