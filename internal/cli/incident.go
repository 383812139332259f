package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak-ops/firebreak/internal/ingress/incidentapi"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

func incidentPath(id, suffix string) string {
	return "/v1/incidents/" + url.PathEscape(id) + suffix
}

func newIncidentCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "Declare and run incidents; print their postmortems",
	}
	var by string
	cmd.PersistentFlags().StringVar(&by, "by", currentUser(), "who is acting (recorded in the timeline)")
	cmd.AddCommand(
		newIncidentDeclareCmd(g, &by),
		newIncidentListCmd(g),
		newIncidentShowCmd(g),
		incidentCommandCmd(g, &by, "status ID STATUS", "Change an incident's status (investigating, identified, mitigated, resolved)", 2,
			"/status", func(args []string, note string) any {
				return incidentapi.CommandBody{Status: args[1], Note: note}
			}),
		incidentCommandCmd(g, &by, "sev ID SEVERITY", "Change an incident's severity (sev1..sev4)", 2,
			"/severity", func(args []string, note string) any {
				return incidentapi.CommandBody{Severity: args[1], Note: note}
			}),
		incidentCommandCmd(g, &by, "note ID TEXT", "Add a note to an incident's timeline", 2,
			"/notes", func(args []string, _ string) any { return incidentapi.CommandBody{Text: args[1]} }),
		incidentCommandCmd(g, &by, "role ID ROLE USER", "Assign a role (commander, scribe, comms)", 3,
			"/roles", func(args []string, _ string) any { return incidentapi.CommandBody{Role: args[1], User: args[2]} }),
		incidentCommandCmd(g, &by, "action-item ID TEXT", "Add an action item for the postmortem", 2,
			"/action-items", func(args []string, _ string) any { return incidentapi.CommandBody{Text: args[1]} }),
		newIncidentResolveCmd(g, &by),
		newIncidentRunCmd(g, &by),
		newIncidentPostmortemCmd(g),
	)
	return cmd
}

func newIncidentDeclareCmd(g *globals, by *string) *cobra.Command {
	var b incidentapi.DeclareBody
	var startedAgo time.Duration
	cmd := &cobra.Command{
		Use:   "declare SEVERITY TITLE",
		Short: "Declare an incident (sev1..sev4)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			b.Severity, b.Title, b.By = args[0], args[1], *by
			if startedAgo > 0 {
				t := time.Now().Add(-startedAgo).UTC()
				b.StartedAt = &t
			}
			var inc incidentwire.Incident
			if err := g.client().doIdempotent(cmd.Context(), "POST", "/v1/incidents", b, &inc); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "declared %s (%s): %s\n", inc.ID, strings.ToUpper(inc.Severity), inc.Title)
			fmt.Fprintf(g.out, "  console: %s\n", g.consoleURL("incidents", inc.ID))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&b.Commander, "commander", "", "incident commander")
	f.StringSliceVar(&b.Services, "service", nil, "affected service (repeatable); automatic runs for it join the incident")
	f.StringSliceVar(&b.Responders, "responder", nil, "Slack user ID to invite to the channel (repeatable)")
	f.StringVar(&b.PagerDutyIncident, "pagerduty", "", "link this PagerDuty incident ID")
	f.BoolVar(&b.Page, "page", false, "trigger a PagerDuty incident (pagerduty.routingKey)")
	f.DurationVar(&startedAgo, "started", 0, "the impact began this long ago (default: now)")
	return cmd
}

func newIncidentListCmd(g *globals) *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List incidents, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var list []incidentwire.IncidentSummary
			path := "/v1/incidents"
			if status != "" {
				path += "?status=" + url.QueryEscape(status)
			}
			if err := g.client().do(cmd.Context(), "GET", path, nil, &list); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.out, 0, 2, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEV\tSTATUS\tCOMMANDER\tDECLARED\tTITLE")
			for _, i := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", i.ID, strings.ToUpper(i.Severity), i.Status, dash(i.Commander),
					i.DeclaredAt.Local().Format("2006-01-02 15:04"), i.Title)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "open, investigating, identified, mitigated or resolved")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newIncidentShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show an incident and its timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var inc incidentwire.Incident
			if err := g.client().do(cmd.Context(), "GET", incidentPath(args[0], ""), nil, &inc); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				return enc.Encode(inc)
			}
			printIncident(g.out, &inc)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole record as JSON")
	return cmd
}

func printIncident(out io.Writer, inc *incidentwire.Incident) {
	fmt.Fprintf(out, "%s  %s  %s\n%s\n", inc.ID, strings.ToUpper(inc.Severity), inc.Status, inc.Title)
	fmt.Fprintf(out, "  commander: %s\n", dash(inc.Commander))
	for _, r := range []string{incidentwire.RoleScribe, incidentwire.RoleComms} {
		if u := inc.Roles[r]; u != "" {
			fmt.Fprintf(out, "  %s: %s\n", r, u)
		}
	}
	if len(inc.Services) > 0 {
		fmt.Fprintf(out, "  services: %s\n", strings.Join(inc.Services, ", "))
	}
	if inc.Slack != nil && inc.Slack.Name != "" {
		fmt.Fprintf(out, "  slack: #%s\n", inc.Slack.Name)
	}
	for _, l := range inc.Links {
		fmt.Fprintf(out, "  link: %s %s %s\n", l.Kind, l.Title, l.URL)
	}
	if len(inc.Runs) > 0 {
		fmt.Fprintf(out, "  runs: %s\n", strings.Join(inc.Runs, ", "))
	}
	fmt.Fprintln(out, "timeline:")
	tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
	for _, e := range inc.Timeline {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.At.Local().Format("15:04:05"), e.Kind, dash(e.By), e.Text)
	}
	_ = tw.Flush()
}

// incidentCommandCmd builds a command that posts one incident command.
func incidentCommandCmd(g *globals, by *string, use, short string, nargs int, suffix string, body func([]string, string) any) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			b := body(args, note).(incidentapi.CommandBody)
			b.By = *by
			var res incidentwire.CommandResult
			if err := g.client().do(cmd.Context(), "POST", incidentPath(args[0], suffix), b, &res); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s %s: %s\n", res.ID, res.Status, res.Text())
			return nil
		},
	}
	if strings.HasPrefix(use, "status") || strings.HasPrefix(use, "sev") {
		cmd.Flags().StringVar(&note, "note", "", "why, for the timeline")
	}
	return cmd
}

func newIncidentResolveCmd(g *globals, by *string) *cobra.Command {
	var b incidentapi.CommandBody
	var wait bool
	cmd := &cobra.Command{
		Use:   "resolve ID",
		Short: "Resolve an incident; its postmortem is written from the record",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b.By = *by
			var inc incidentwire.CommandResult
			c := g.client()
			if err := c.do(cmd.Context(), "POST", incidentPath(args[0], "/resolve"), b, &inc); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "%s resolved\n", inc.ID)
			if !wait {
				fmt.Fprintf(g.out, "  postmortem: firebreak incident postmortem %s\n", inc.ID)
				return nil
			}
			md, err := waitPostmortem(cmd.Context(), c, inc.ID)
			if err != nil {
				return err
			}
			_, err = io.WriteString(g.out, md)
			return err
		},
	}
	cmd.Flags().StringVar(&b.Summary, "summary", "", "what happened, in a few sentences")
	cmd.Flags().StringArrayVar(&b.ActionItems, "action-item", nil, "a follow-up for the postmortem (repeatable)")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the postmortem and print it")
	return cmd
}

func newIncidentPostmortemCmd(g *globals) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "postmortem ID",
		Short: "Print an incident's postmortem (Markdown)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c := g.client()
			var md string
			var err error
			if wait {
				md, err = waitPostmortem(cmd.Context(), c, args[0])
			} else {
				var b []byte
				b, err = c.raw(cmd.Context(), incidentPath(args[0], "/postmortem"))
				md = string(b)
			}
			if err != nil {
				return err
			}
			_, err = io.WriteString(g.out, md)
			return err
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait while the postmortem is being written")
	return cmd
}

// waitPostmortem polls until the postmortem is written (409 while it is).
func waitPostmortem(ctx context.Context, c *apiClient, id string) (string, error) {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		b, err := c.raw(ctx, incidentPath(id, "/postmortem"))
		ae, ok := err.(*apiError)
		if err == nil || !ok || (ae.Status != http.StatusConflict && ae.Status != http.StatusNotFound) || time.Now().After(deadline) {
			return string(b), err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// raw GETs a path and returns the body as it is (Markdown, JSON lines).
func (c *apiClient) raw(ctx context.Context, path string) ([]byte, error) {
	data, _, err := c.get(ctx, path)
	return data, err
}

// get GETs a document and returns it with the answer's headers.
func (c *apiClient) get(ctx context.Context, path string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("X-Firebreak-Client", "cli")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach Firebreak at %s (is `firebreak dev` running?): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, nil, &apiError{Status: resp.StatusCode, Msg: fmt.Sprintf("%s (HTTP %d)", e.Error, resp.StatusCode)}
	}
	return data, resp.Header, nil
}

func newIncidentRunCmd(g *globals, by *string) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run ID RUNBOOK [--param k=v]...",
		Short: "Start a runbook run linked to an incident: its steps, decisions and approvals go into the timeline",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.start(cmd.Context(), g, args[1], *by, args[0])
		},
	}
	f.register(cmd)
	return cmd
}
