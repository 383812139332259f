// Package builtin holds the actions that need no outside system.
package builtin

import (
	"context"
	"log/slog"
	"strings"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Activities performs the built-in actions.
type Activities struct {
	Logger *slog.Logger
}

type logInput struct {
	Message string `json:"message"`
	Level   string `json:"level"`
}

// Handlers returns the handler of each built-in action.
func (a *Activities) Handlers() map[string]actions.Handler {
	return map[string]actions.Handler{actions.Log: a.Log}
}

// Log writes a message to the worker log; the run record keeps it as the
// step's output.
func (a *Activities) Log(ctx context.Context, req actions.Request) (any, error) {
	var in logInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	level := slog.LevelInfo
	switch strings.ToLower(in.Level) {
	case "", "info":
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, actions.Permanentf("level must be info, warn or error, not %q", in.Level)
	}
	a.Logger.Log(ctx, level, in.Message, "run", req.RunID, "step", req.Step, "dryRun", req.DryRun)
	return map[string]any{"message": in.Message}, nil
}
