package actions

// Slack actions.
const (
	// SlackRunMessage posts or updates the one message that shows a run.
	SlackRunMessage = "slack.run-message"
	// SlackPost posts a message.
	SlackPost = "slack.post"
)

// slackActions post and keep up the messages that show runs.
var slackActions = []Spec{
	{
		Name:        SlackRunMessage,
		Description: "Post (or update) the Slack message that shows a run's state, with approval buttons while a step waits.",
		Fields: map[string]Field{
			"channel": {Kind: KindString, Required: true, Description: "channel ID (or name) to post in"},
			"ts":      {Kind: KindString, Description: "timestamp of the message to update; empty posts a new one"},
			"state":   {Kind: KindAny, Description: "the run's state (the status query's answer)"},
			"uiURL":   {Kind: KindString, Description: "Temporal Web UI base URL for the history link; default: the worker's"},
		},
		Mutating: true,
		DryRun:   true,
	},
	{
		Name:        SlackPost,
		Description: "Post a message to a Slack channel or thread; a retried step finds its earlier post. A dry run posts nothing.",
		Fields: map[string]Field{
			"channel":  {Kind: KindString, Required: true, Description: "channel ID (or name)"},
			"text":     {Kind: KindString, Required: true, Description: "message text (Slack mrkdwn)"},
			"threadTS": {Kind: KindString, Description: "timestamp of the thread to reply in"},
		},
		Mutating: true,
		DryRun:   true,
	},
}
