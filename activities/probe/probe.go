// Package probe holds the actions that look at a system from outside: HTTP
// requests and Prometheus queries.
package probe

import (
	"context"
	"net/http"
	"net/url"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/egress"
)

// Activities performs probe actions with injected clients.
type Activities struct {
	// HTTP sends http.request's requests; it should enforce the same
	// egress policy as Egress when it connects (egress.Policy.Client).
	HTTP *http.Client
	// Egress is checked before every http.request, and is all a dry run
	// checks; nil means egress.Default().
	Egress Egress
	// PrometheusHTTP queries PrometheusURL, a configured endpoint outside
	// the egress policy; nil means HTTP.
	PrometheusHTTP *http.Client
	PrometheusURL  string
}

// Egress decides whether a request may be sent to a URL, resolving its
// host but never connecting; a refusal is an *egress.DeniedError.
type Egress interface {
	CheckURL(ctx context.Context, u *url.URL) error
}

func (a *Activities) egress() Egress {
	if a.Egress == nil {
		return egress.Default()
	}
	return a.Egress
}

// Handlers returns the handler of each probe action.
func (a *Activities) Handlers() map[string]actions.Handler {
	return map[string]actions.Handler{
		actions.HTTPRequest:     a.HTTPRequest,
		actions.PrometheusQuery: a.PrometheusQuery,
	}
}
