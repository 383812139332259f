// Package markdown renders Firebreak's records as Markdown: the postmortem
// of an incident through a Go text/template (the built-in one or one's
// own) and the view it sees, the key durations of an incident, and the
// reports of chaos experiment and game day runs. It does no I/O: callers
// write or serve what it returns.
package markdown
