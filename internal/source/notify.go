package source

// Notify says where a runbook's runs or an experiment's reports and
// escalations go (spec.notify), in both formats.
type Notify struct {
	Slack *SlackNotify `yaml:"slack" json:"slack,omitempty"`
	Pos   Positions    `yaml:"-" json:"-"`
}

// SlackNotify names a Slack channel.
type SlackNotify struct {
	Channel string    `yaml:"channel" json:"channel"`
	Pos     Positions `yaml:"-" json:"-"`
}
