// Package slackmsg renders Slack messages as text and Block Kit blocks:
// the message that shows a runbook run (with its Approve and Deny buttons
// and their action IDs and values), an incident's pinned summary, and the
// link to a run's history in the Temporal Web UI. It does no I/O: the
// Slack actions post what it renders and the Slack app replies with it.
package slackmsg
