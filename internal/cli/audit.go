package cli

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firebreak-ops/firebreak/internal/audit"
	"github.com/firebreak-ops/firebreak/internal/ingress/incidentapi"
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
		Long: "Print every run, guard decision, action, approval, refusal and incident command as JSON lines,\n" +
			"oldest first, reading the export page by page. A run or incident whose record could not be read\n" +
			"is printed as an audit.missing line naming it, and the command then fails.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var records []audit.Record
			missing := 0
			path := "/v1/audit?since=" + url.QueryEscape(since)
			for {
				body, hdr, err := g.client().get(cmd.Context(), path)
				if err != nil {
					return err
				}
				for _, line := range strings.Split(strings.TrimSpace(string(body)), "\n") {
					if line == "" {
						continue
					}
					var rec audit.Record
					if err := json.Unmarshal([]byte(line), &rec); err != nil {
						return fmt.Errorf("audit export: bad line %q: %w", line, err)
					}
					if rec.Kind == audit.MissingKind {
						missing++
					}
					records = append(records, rec)
				}
				next := hdr.Get(incidentapi.AuditNextHeader)
				if next == "" {
					break
				}
				path = "/v1/audit?cursor=" + url.QueryEscape(next)
			}
			sort.SliceStable(records, func(i, j int) bool { return records[i].At.Before(records[j].At) })
			enc := json.NewEncoder(g.out)
			for _, rec := range records {
				if err := enc.Encode(rec); err != nil {
					return err
				}
			}
			if missing > 0 {
				return fmt.Errorf("the export is incomplete: %d runs or incidents could not be read (the %s lines name them); run it again", missing, audit.MissingKind)
			}
			return nil
		},
	}
	export.Flags().StringVar(&since, "since", "24h", "an RFC 3339 time, or a duration back from now (24h, 168h)")
	cmd.AddCommand(export)
	return cmd
}
