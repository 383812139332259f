// Package pagerduty holds the PagerDuty actions: Events API v2 through
// go-pagerduty's client, with endpoints configurable so tests point them at
// a local server.
package pagerduty

import (
	"errors"
	"net/http"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Config says where and as whom to talk to PagerDuty.
type Config struct {
	// Token is a REST API token (notes).
	Token string
	// APIURL and EventsURL override PagerDuty's endpoints.
	APIURL    string
	EventsURL string
	// RoutingKey is the default Events API v2 integration key.
	RoutingKey string
	// From is the default email for REST calls that need a user.
	From string
	HTTP *http.Client
}

// Activities performs PagerDuty actions.
type Activities struct {
	cfg    Config
	client *pagerduty.Client
}

// New builds the activities; nothing is contacted until an action runs.
func New(cfg Config) *Activities {
	var opts []pagerduty.ClientOptions
	if cfg.APIURL != "" {
		opts = append(opts, pagerduty.WithAPIEndpoint(cfg.APIURL))
	}
	if cfg.EventsURL != "" {
		opts = append(opts, pagerduty.WithV2EventsAPIEndpoint(cfg.EventsURL))
	}
	c := pagerduty.NewClient(cfg.Token, opts...)
	if cfg.HTTP != nil {
		c.HTTPClient = cfg.HTTP
	}
	return &Activities{cfg: cfg, client: c}
}

// Handlers returns the handler of each PagerDuty action.
func (a *Activities) Handlers() map[string]actions.Handler {
	return map[string]actions.Handler{
		actions.PagerDutyTrigger:     a.Trigger,
		actions.PagerDutyAcknowledge: a.Acknowledge,
		actions.PagerDutyResolve:     a.Resolve,
		actions.PagerDutyNote:        a.Note,
	}
}

// classify makes PagerDuty's 4xx answers (but 429) permanent.
func classify(err error) error {
	var apiErr pagerduty.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500 && apiErr.StatusCode != http.StatusTooManyRequests {
		return actions.Permanent(err)
	}
	return err
}
