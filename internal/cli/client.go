package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// apiClient is the CLI's client of the HTTP API.
type apiClient struct {
	base  string
	token string
	http  *http.Client
}

func (g *globals) client() *apiClient {
	return &apiClient{base: strings.TrimSuffix(g.server, "/"), token: g.token, http: &http.Client{Timeout: 30 * time.Second}}
}

// consoleURL links an object's page in the console, which the server the
// CLI talks to serves at its root: section is "runs", "incidents" or
// "experiments/runs".
func (g *globals) consoleURL(section, id string) string {
	return strings.TrimSuffix(g.server, "/") + "/" + section + "/" + url.PathEscape(id)
}

// apiError is an error answer of the API.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string { return e.Msg }

func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.send(ctx, method, path, body, out, "")
	return err
}

// Retries of requests sent with an idempotency key.
const (
	idempotentAttempts = 4
	maxRetryWait       = 10 * time.Second
)

// doIdempotent sends a request that must take effect once (a
// declaration) with an Idempotency-Key, and sends it again with the same
// key when Firebreak answers 429 or 503 or cannot be reached: the server
// hands back what the first one did.
func (c *apiClient) doIdempotent(ctx context.Context, method, path string, body, out any) error {
	key := uuid.NewString()
	var err error
	for attempt := 1; ; attempt++ {
		var wait time.Duration
		wait, err = c.send(ctx, method, path, body, out, key)
		if wait < 0 || attempt == idempotentAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// send sends one request. Its wait says whether and when a request with
// an idempotency key may be sent again: negative never.
func (c *apiClient) send(ctx context.Context, method, path string, body, out any, key string) (wait time.Duration, err error) {
	wait = -1
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return wait, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return wait, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Firebreak-Client", "cli")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if key != "" {
			wait = time.Second
		}
		return wait, fmt.Errorf("cannot reach Firebreak at %s (is `firebreak dev` running?): %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return wait, err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		if key != "" && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			wait = time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
				wait = min(time.Duration(s)*time.Second, maxRetryWait)
			}
		}
		return wait, &apiError{Status: resp.StatusCode, Msg: fmt.Sprintf("%s (HTTP %d)", e.Error, resp.StatusCode)}
	}
	if raw, ok := out.(*[]byte); ok {
		// Documents (Markdown reports) come back as they are.
		*raw = data
		return -1, nil
	}
	if out != nil {
		return -1, json.Unmarshal(data, out)
	}
	return -1, nil
}

func runPath(id string, suffix string) string {
	return "/v1/runs/" + url.PathEscape(id) + suffix
}
