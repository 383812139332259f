package engine

import (
	"context"
	"log/slog"
	"sync/atomic"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts the Temporal server's log.Logger interface to a
// *slog.Logger. Records below the configured level are dropped before any
// tag conversion happens, because the server logs a lot at Info/Debug.
type serverLogger struct {
	sl  *slog.Logger
	min slog.Level
	// stopping is shared by every logger derived with With: once the
	// engine stops, the errors its services log while they wind down one
	// after another (peers gone, polls cancelled) are expected, so they are
	// demoted to Debug instead of alarming whoever reads the log.
	stopping *atomic.Bool
}

// benign lists server messages that say nothing wrong about an embedded,
// single-process server; they are demoted to Debug.
var benign = map[string]bool{
	"HTTP API port has not been set. Nexus HTTP endpoints will not be available. To enable Nexus, follow these instructions: https://github.com/temporalio/temporal/blob/main/docs/architecture/nexus.md#enabling-nexus.": true,
}

var (
	_ log.Logger     = (*serverLogger)(nil)
	_ log.WithLogger = (*serverLogger)(nil)
)

func newServerLogger(sl *slog.Logger, min slog.Level) *serverLogger {
	return &serverLogger{sl: sl, min: min, stopping: &atomic.Bool{}}
}

// Debug logs at slog.LevelDebug.
func (l *serverLogger) Debug(msg string, tags ...tag.Tag) { l.emit(slog.LevelDebug, msg, tags) }

// Info logs at slog.LevelInfo.
func (l *serverLogger) Info(msg string, tags ...tag.Tag) { l.emit(slog.LevelInfo, msg, tags) }

// Warn logs at slog.LevelWarn.
func (l *serverLogger) Warn(msg string, tags ...tag.Tag) { l.emit(slog.LevelWarn, msg, tags) }

// Error logs at slog.LevelError.
func (l *serverLogger) Error(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }

// DPanic logs at slog.LevelError. Like zap's production mode, it never
// panics: "development panics" are not meant for a running service.
func (l *serverLogger) DPanic(msg string, tags ...tag.Tag) { l.emit(slog.LevelError, msg, tags) }

// Panic logs at slog.LevelError and then panics, which is what callers of
// Panic rely on (code after it is treated as unreachable).
func (l *serverLogger) Panic(msg string, tags ...tag.Tag) {
	l.emit(slog.LevelError, msg, tags)
	panic(msg)
}

// Fatal logs at slog.LevelError but, unlike the server's zap logger, does not
// exit the process: the server is embedded in firebreak, and a component of
// it failing (for example an internal system worker that could not start
// while the frontend was briefly unavailable) must not kill the host
// process. Start checks the ports up front so the listener failures that
// would otherwise end here are reported as errors instead.
func (l *serverLogger) Fatal(msg string, tags ...tag.Tag) {
	withFatal := make([]tag.Tag, 0, len(tags)+1)
	withFatal = append(withFatal, tags...)
	l.emit(slog.LevelError, msg, append(withFatal, tag.NewBoolTag("fatal", true)))
}

// With returns a logger that prepends tags to every record.
func (l *serverLogger) With(tags ...tag.Tag) log.Logger {
	if len(tags) == 0 {
		return l
	}
	args := make([]any, len(tags))
	for i, t := range tags {
		args[i] = tagAttr(t)
	}
	return &serverLogger{sl: l.sl.With(args...), min: l.min, stopping: l.stopping}
}

func (l *serverLogger) emit(level slog.Level, msg string, tags []tag.Tag) {
	if level > slog.LevelDebug && (l.stopping.Load() || benign[msg]) {
		level = slog.LevelDebug
	}
	if level < l.min {
		return
	}
	ctx := context.Background()
	if !l.sl.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, len(tags))
	for i, t := range tags {
		attrs[i] = tagAttr(t)
	}
	l.sl.LogAttrs(ctx, level, msg, attrs...)
}

func tagAttr(t tag.Tag) slog.Attr {
	return slog.Any(t.Key(), t.Value())
}

// minLevelHandler drops records below min before handing them on. It is
// used for the SDK client that Start dials internally, so that it obeys the
// same LogLevel as the server.
type minLevelHandler struct {
	min slog.Level
	h   slog.Handler
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min && h.h.Enabled(ctx, level)
}

func (h minLevelHandler) Handle(ctx context.Context, r slog.Record) error {
	return h.h.Handle(ctx, r)
}

func (h minLevelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevelHandler{min: h.min, h: h.h.WithAttrs(attrs)}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{min: h.min, h: h.h.WithGroup(name)}
}
