// Package probe holds the actions that look at a system from outside: HTTP
// requests and Prometheus queries.
package probe

import (
	"net/http"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Activities performs probe actions with injected clients.
type Activities struct {
	HTTP          *http.Client
	PrometheusURL string
}

// Handlers returns the handler of each probe action.
func (a *Activities) Handlers() map[string]actions.Handler {
	return map[string]actions.Handler{
		actions.HTTPRequest:     a.HTTPRequest,
		actions.PrometheusQuery: a.PrometheusQuery,
	}
}
