// Package cli is the firebreak command line: server commands (dev, serve),
// validate, and client commands that talk to the HTTP API.
package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/spf13/cobra"
)

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Main runs the command line and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	}
	fmt.Fprintln(stderr, "firebreak:", err)
	return 1
}

type globals struct {
	server string
	token  string
	out    io.Writer
	errOut io.Writer
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{out: stdout, errOut: stderr}
	root := &cobra.Command{
		Use:           "firebreak",
		Short:         "Incident response and chaos automation on durable Temporal workflows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	server := os.Getenv("FIREBREAK_SERVER")
	if server == "" {
		server = "http://127.0.0.1:8080"
	}
	root.PersistentFlags().StringVar(&g.server, "server", server, "Firebreak API address ($FIREBREAK_SERVER)")
	root.PersistentFlags().StringVar(&g.token, "token", os.Getenv("FIREBREAK_API_TOKEN"), "API bearer token ($FIREBREAK_API_TOKEN)")
	root.AddCommand(
		newDevCmd(g),
		newServeCmd(g),
		newKeysCmd(g),
		newValidateCmd(g),
		newRunCmd(g),
		newRunsCmd(g),
		newAutomationCmd(g),
		newChaosCmd(g),
		newGameDayCmd(g),
		newIncidentCmd(g),
		newAuditCmd(g),
	)
	return root
}

// newLogger logs text to a terminal and JSON otherwise.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, not %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	// Every log line passes through the one redaction (internal/redact).
	if isTerminal(w) {
		return redact.Logger(slog.New(slog.NewTextHandler(w, opts))), nil
	}
	return redact.Logger(slog.New(slog.NewJSONHandler(w, opts))), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
