// Package probe holds the actions that look at a system from outside: HTTP
// requests and Prometheus queries.
package probe

import (
	"net/http"
)

// Activities performs probe actions with injected clients.
type Activities struct {
	HTTP          *http.Client
	PrometheusURL string
}
