package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak-ops/firebreak/internal/runs"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

func currentUser() string {
	if u := os.Getenv("FIREBREAK_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "cli"
}

// runFlags are the flags of every command that starts a run.
type runFlags struct {
	params       []string
	dryRun, wait bool
}

func (f *runFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVarP(&f.params, "param", "p", nil, "runbook parameter name=value (repeatable)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "evaluate guards and record what each action would do, without doing it")
	cmd.Flags().BoolVar(&f.wait, "wait", false, "follow the run and exit non-zero unless it succeeds")
}

// start starts a run of runbook, prints its ID and, with --wait, follows it.
func (f *runFlags) start(ctx context.Context, g *globals, runbook, by, incident string) error {
	p, err := parseParams(f.params)
	if err != nil {
		return err
	}
	c := g.client()
	var ref runs.Ref
	req := runs.StartRequest{Runbook: runbook, Params: p, DryRun: f.dryRun, RequestedBy: by, Incident: incident}
	if err := c.do(ctx, "POST", "/v1/runs", req, &ref); err != nil {
		return err
	}
	mode := ""
	if ref.DryRun {
		mode = " (dry run)"
	}
	if incident != "" {
		mode += " for " + incident
	}
	fmt.Fprintf(g.out, "started %s%s\n", ref.ID, mode)
	if ref.Name != "" {
		fmt.Fprintf(g.out, "  name: %s\n", ref.Name)
	}
	fmt.Fprintf(g.out, "  console: %s\n", g.consoleURL("runs", ref.ID))
	if ref.URL != "" {
		fmt.Fprintf(g.out, "  history: %s\n", ref.URL)
	}
	if !f.wait {
		return nil
	}
	return follow(ctx, c, ref.ID, g.out)
}

func newRunCmd(g *globals) *cobra.Command {
	var f runFlags
	var by, incident string
	cmd := &cobra.Command{
		Use:   "run RUNBOOK [--param k=v]...",
		Short: "Start a runbook run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.start(cmd.Context(), g, args[0], by, incident)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&by, "by", currentUser(), "who is asking (recorded with the run)")
	cmd.Flags().StringVar(&incident, "incident", "", "incident ID (INC-…) whose timeline the run reports into")
	return cmd
}

// parseParams reads repeated --param name=value flags.
func parseParams(params []string) (map[string]any, error) {
	p := map[string]any{}
	for _, kv := range params {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--param %q must be name=value", kv)
		}
		p[k] = v
	}
	return p, nil
}

// follow prints step changes until the run ends; a failed or cancelled run
// is an exit code 1.
func follow(ctx context.Context, c *apiClient, id string, out io.Writer) error {
	seen := map[string]string{}
	hinted := map[string]bool{}
	for {
		var st runwire.RunState
		err := c.do(ctx, "GET", runPath(id, ""), nil, &st)
		if err != nil {
			return err
		}
		for _, s := range append(append([]runwire.StepState{}, st.Steps...), st.Rollback...) {
			key := s.Name + "/" + s.For
			if seen[key] == s.Status || s.Status == runwire.StepPending {
				continue
			}
			seen[key] = s.Status
			fmt.Fprintln(out, "  "+stepLine(s))
			if s.Status == runwire.StepWaitingApproval && !hinted[s.Name] {
				hinted[s.Name] = true
				who := ""
				if s.Approval != nil && len(s.Approval.Approvers) > 0 {
					who = " (approvers: " + strings.Join(s.Approval.Approvers, ", ") + ")"
				}
				fmt.Fprintf(out, "      approve: firebreak runs approve %s %s%s\n", id, s.Name, who)
				fmt.Fprintf(out, "      deny:    firebreak runs deny %s %s\n", id, s.Name)
			}
		}
		if st.Done() {
			if st.Status == runwire.StatusSucceeded {
				fmt.Fprintf(out, "run %s succeeded\n", id)
				return nil
			}
			fmt.Fprintf(out, "run %s %s: %s\n", id, st.Status, st.Error)
			return exitError{code: 1}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func stepLine(s runwire.StepState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %-18s %s", runwire.StepIcons[s.Status], s.Name, s.Status)
	if s.For != "" {
		fmt.Fprintf(&b, " (rollback of %s)", s.For)
	}
	if s.StartedAt != nil && s.FinishedAt != nil {
		fmt.Fprintf(&b, " in %s", s.FinishedAt.Sub(*s.StartedAt).Round(time.Millisecond))
	}
	if s.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", s.Attempts)
	}
	if s.Decision != nil && s.Status == runwire.StepSkipped {
		fmt.Fprintf(&b, " — %s", s.Decision.Reason)
	}
	if s.Error != "" {
		fmt.Fprintf(&b, " — %s", s.Error)
	}
	if s.Approval != nil && s.Approval.By != "" && s.Error == "" {
		fmt.Fprintf(&b, " — %s by %s", s.Approval.Decision, s.Approval.By)
		if s.Approval.Comment != "" {
			fmt.Fprintf(&b, ": %q", s.Approval.Comment)
		}
	}
	return b.String()
}

func newRunsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "runs", Short: "List, show, approve, deny, cancel, retry and rerun runs"}
	var runbook, status string
	var limit int
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List recent runs, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q := url.Values{}
			if runbook != "" {
				q.Set("runbook", runbook)
			}
			if status != "" {
				q.Set("status", status)
			}
			q.Set("limit", fmt.Sprint(limit))
			var runs []runs.Summary
			if err := g.client().do(cmd.Context(), "GET", "/v1/runs?"+q.Encode(), nil, &runs); err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, runs)
			}
			tw := tabwriter.NewWriter(g.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tID\tRUNBOOK\tSTATUS\tTRIGGER\tSTARTED")
			for _, r := range runs {
				mode := ""
				if r.DryRun {
					mode = " (dry run)"
				}
				name := r.Name
				if name == "" {
					name = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\t%s\t%s\n", name, r.ID, r.Runbook, r.Status, mode, r.Trigger, r.StartedAt.Local().Format(time.DateTime))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&runbook, "runbook", "", "only runs of this runbook")
	list.Flags().StringVar(&status, "status", "", "only runs in this status")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	var showJSON bool
	show := &cobra.Command{
		Use:   "show RUN-ID",
		Short: "Show a run's steps, guard decisions and approvals",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var st runwire.RunState
			if err := g.client().do(cmd.Context(), "GET", runPath(args[0], ""), nil, &st); err != nil {
				return err
			}
			if showJSON {
				return printJSON(g.out, st)
			}
			fmt.Fprintf(g.out, "%s  %s  %s\n", st.ID, st.Runbook, st.Status)
			if st.Name != "" {
				fmt.Fprintf(g.out, "name: %s\n", st.Name)
			}
			for _, r := range st.Retries {
				fmt.Fprintf(g.out, "retried from %s by %s at %s", r.From, r.By, r.At.Local().Format(time.DateTime))
				if r.Reason != "" {
					fmt.Fprintf(g.out, ": %s", r.Reason)
				}
				fmt.Fprintln(g.out)
			}
			if st.Error != "" {
				fmt.Fprintf(g.out, "error: %s\n", st.Error)
			}
			for _, s := range st.Steps {
				fmt.Fprintln(g.out, "  "+stepLine(s))
			}
			for _, s := range st.Rollback {
				fmt.Fprintln(g.out, "  "+stepLine(s))
			}
			return nil
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print the full record as JSON")

	decide := func(approve bool) *cobra.Command {
		var comment, by string
		verb := "approve"
		if !approve {
			verb = "deny"
		}
		c := &cobra.Command{
			Use:   verb + " RUN-ID STEP",
			Short: strings.ToUpper(verb[:1]) + verb[1:] + " a step waiting for approval",
			Args:  cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				var out runwire.ApprovalState
				req := runwire.ApprovalRequest{Step: args[1], Approve: approve, By: by, Comment: comment}
				if err := g.client().do(cmd.Context(), "POST", runPath(args[0], "/approvals"), req, &out); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "%s: step %s %s by %s\n", args[0], args[1], out.Decision, out.By)
				return nil
			},
		}
		c.Flags().StringVar(&comment, "comment", "", "why")
		c.Flags().StringVar(&by, "by", currentUser(), "who decides")
		return c
	}
	cancel := &cobra.Command{
		Use:   "cancel RUN-ID",
		Short: "Cancel a run; it rolls back what it completed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.client().do(cmd.Context(), "POST", runPath(args[0], "/cancel"), struct{}{}, nil); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "cancelling %s\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(list, show, decide(true), decide(false), cancel, newRetryCmd(g), newRerunCmd(g))
	return cmd
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
