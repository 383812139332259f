package cli

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

func experimentPath(id, suffix string) string {
	return "/v1/experiments/runs/" + url.PathEscape(id) + suffix
}

type haltBody struct {
	Reason string `json:"reason,omitempty"`
	By     string `json:"by,omitempty"`
}

func newChaosCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "chaos", Short: "Chaos experiments: run, watch, abort; halt all chaos"}
	var asJSON, dryRun, wait bool
	var by, reason string

	list := &cobra.Command{
		Use:   "list",
		Short: "List the experiments in the catalog",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out []plan.Summary
			if err := g.client().do(cmd.Context(), "GET", "/v1/experiments", nil, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, out)
			}
			for _, e := range out {
				fmt.Fprintf(g.out, "%-28s %-13s %-16s %-6s %s\n", e.Name, e.Fault, strings.Join(e.Namespaces, ","), e.Duration, e.Description)
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	run := &cobra.Command{
		Use:   "run EXPERIMENT",
		Short: "Start an experiment (--dry-run renders and validates the fault and runs the probes without injecting)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var ref chaos.ExperimentRef
			c := g.client()
			if err := c.do(cmd.Context(), "POST", "/v1/experiments/runs", chaos.ExperimentRequest{Experiment: args[0], DryRun: dryRun}, &ref); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "started %s\n", ref.ID)
			fmt.Fprintf(g.out, "  console: %s\n", g.consoleURL("experiments/runs", ref.ID))
			if !wait {
				return nil
			}
			st, err := followExperiment(cmd.Context(), c, ref.ID, g.out)
			if err != nil {
				return err
			}
			if st.Verdict != chaoswire.VerdictPassed {
				return exitError{code: 1}
			}
			return nil
		},
	}
	run.Flags().BoolVar(&dryRun, "dry-run", false, "render the Chaos Mesh resource and run the probes; inject nothing")
	run.Flags().BoolVar(&wait, "wait", false, "follow the run until it ends; exit 1 unless it passed")

	status := &cobra.Command{
		Use:   "status [RUN-ID]",
		Short: "Show an experiment run, or with no ID whether chaos is halted and what is running",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				var st chaoswire.ChaosState
				if err := g.client().do(cmd.Context(), "GET", "/v1/chaos", nil, &st); err != nil {
					return err
				}
				if asJSON {
					return printJSON(g.out, st)
				}
				showChaos(g.out, &st)
				return nil
			}
			var st chaoswire.ExperimentState
			if err := g.client().do(cmd.Context(), "GET", experimentPath(args[0], ""), nil, &st); err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, st)
			}
			showExperiment(g.out, &st)
			return nil
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	report := &cobra.Command{
		Use:   "report RUN-ID",
		Short: "Print an experiment run's Markdown report",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var md []byte
			if err := g.client().do(cmd.Context(), "GET", experimentPath(args[0], "/report"), nil, &md); err != nil {
				return err
			}
			_, err := g.out.Write(md)
			return err
		},
	}

	abort := &cobra.Command{
		Use:   "abort RUN-ID",
		Short: "Roll an experiment back now; it ends aborted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.client().do(cmd.Context(), "POST", experimentPath(args[0], "/abort"), haltBody{Reason: reason, By: by}, nil); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "aborting %s\n", args[0])
			return nil
		},
	}
	switchCmd := func(verb, short string) *cobra.Command {
		return &cobra.Command{
			Use:   verb,
			Short: short,
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				var st chaoswire.ChaosState
				if err := g.client().do(cmd.Context(), "POST", "/v1/chaos/"+verb, haltBody{Reason: reason, By: by}, &st); err != nil {
					return err
				}
				showChaos(g.out, &st)
				return nil
			},
		}
	}
	halt := switchCmd("halt", "Roll back every running experiment now and refuse new ones until resume")
	resume := switchCmd("resume", "Allow experiments again after a halt")
	for _, c := range []*cobra.Command{abort, halt, resume} {
		c.Flags().StringVar(&by, "by", currentUser(), "who")
		c.Flags().StringVar(&reason, "reason", "", "why")
	}
	cmd.AddCommand(list, run, status, report, abort, halt, resume)
	return cmd
}

func showChaos(w io.Writer, st *chaoswire.ChaosState) {
	if st.Halted {
		fmt.Fprintf(w, "chaos: HALTED by %s", st.By)
		if st.Reason != "" {
			fmt.Fprintf(w, " (%s)", st.Reason)
		}
		fmt.Fprintln(w)
	} else {
		fmt.Fprintln(w, "chaos: allowed")
	}
	fmt.Fprintf(w, "running experiments: %d\n", len(st.Running))
	for _, id := range st.Running {
		fmt.Fprintf(w, "  %s\n", id)
	}
}

func showExperiment(w io.Writer, st *chaoswire.ExperimentState) {
	verdict := st.Verdict
	if verdict == "" {
		verdict = st.Status
	}
	fmt.Fprintf(w, "%s  %s  %s", st.ID, st.Experiment, strings.ToUpper(verdict))
	if st.DryRun {
		fmt.Fprint(w, " (dry run)")
	}
	fmt.Fprintln(w)
	if st.Reason != "" {
		fmt.Fprintf(w, "  %s\n", st.Reason)
	}
	for _, p := range st.Phases {
		fmt.Fprintf(w, "  %-20s %-8s %s\n", p.Name, p.Status, p.Detail)
	}
	for _, t := range st.Targets {
		fmt.Fprintf(w, "  target %s (%s)\n", t.ID, t.Phase)
	}
}

// followExperiment prints phases as they happen until the run completes.
func followExperiment(ctx context.Context, c *apiClient, id string, w io.Writer) (*chaoswire.ExperimentState, error) {
	shown := 0
	for {
		var st chaoswire.ExperimentState
		if err := c.do(ctx, "GET", experimentPath(id, ""), nil, &st); err != nil {
			return nil, err
		}
		for ; shown < len(st.Phases); shown++ {
			p := st.Phases[shown]
			if p.Status == "running" {
				break
			}
			fmt.Fprintf(w, "  %-20s %-8s %s\n", p.Name, p.Status, p.Detail)
		}
		if st.Status == chaoswire.ExperimentCompleted {
			fmt.Fprintf(w, "%s: %s\n", strings.ToUpper(st.Verdict), st.Reason)
			return &st, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func newGameDayCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "gameday", Short: "Scheduled game days: list, pause, unpause, trigger now, delete"}
	var asJSON bool
	var note string
	list := &cobra.Command{
		Use:   "list",
		Short: "List game days and their schedules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out []chaos.GameDaySummary
			if err := g.client().do(cmd.Context(), "GET", "/v1/gamedays", nil, &out); err != nil {
				return err
			}
			if asJSON {
				return printJSON(g.out, out)
			}
			for _, d := range out {
				state := "scheduled"
				switch {
				case !d.Exists:
					state = "no schedule"
				case d.Paused:
					state = "paused"
				}
				next := ""
				if len(d.NextRuns) > 0 {
					next = "next " + d.NextRuns[0].Local().Format(time.DateTime)
				}
				fmt.Fprintf(g.out, "%-24s %-16s %-12s %-22s %s\n", d.Name, d.Schedule, state, next, strings.Join(d.Experiments, ","))
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	op := func(verb, method, short string) *cobra.Command {
		c := &cobra.Command{
			Use:   verb + " NAME",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				path := "/v1/gamedays/" + url.PathEscape(args[0])
				if verb != "delete" {
					path += "/" + verb
				}
				if err := g.client().do(cmd.Context(), method, path, haltBody{Reason: note, By: currentUser()}, nil); err != nil {
					return err
				}
				fmt.Fprintf(g.out, "%s: %s done\n", args[0], verb)
				return nil
			},
		}
		c.Flags().StringVar(&note, "note", "", "note recorded on the schedule")
		return c
	}
	report := &cobra.Command{
		Use:   "report RUN-ID",
		Short: "Print a game day run's Markdown report with its resilience score",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var md []byte
			if err := g.client().do(cmd.Context(), "GET", "/v1/gamedays/runs/"+url.PathEscape(args[0])+"/report", nil, &md); err != nil {
				return err
			}
			_, err := g.out.Write(md)
			return err
		},
	}
	cmd.AddCommand(list,
		op("pause", "POST", "Pause a game day's schedule"),
		op("unpause", "POST", "Unpause a game day's schedule"),
		op("trigger", "POST", "Start a game day now"),
		op("delete", "DELETE", "Delete a game day's schedule (it is created again at the next start)"),
		report)
	return cmd
}
