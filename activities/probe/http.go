package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/egress"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// maxBody caps how much of a response is kept in the run record.
const maxBody = 1 << 20

type httpInput struct {
	Method         string            `json:"method"`
	URL            string            `json:"url"`
	Headers        map[string]string `json:"headers"`
	Body           any               `json:"body"`
	ExpectedStatus any               `json:"expectedStatus"`
	Timeout        string            `json:"timeout"`
}

// HTTPRequest sends one HTTP request. The output holds status, headers,
// body and, for JSON responses, the parsed json, for guards to read. A
// status other than the expected ones fails the step: a 4xx at once, a 5xx
// after the step's retries. The egress policy is checked first, on the
// URL's host and every address it resolves to; a refusal names the rule
// and is not retried. A dry run checks the policy and stops there, without
// connecting.
func (a *Activities) HTTPRequest(ctx context.Context, req actions.Request) (any, error) {
	var in httpInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	method := strings.ToUpper(in.Method)
	if method == "" {
		method = http.MethodGet
	}
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, actions.Permanentf("url %q must be an absolute http or https URL", in.URL)
	}
	expect, err := expected(in.ExpectedStatus)
	if err != nil {
		return nil, actions.Permanent(err)
	}
	timeout := 10 * time.Second
	if in.Timeout != "" {
		d, err := source.ParseDuration(in.Timeout)
		if err != nil {
			return nil, actions.Permanent(err)
		}
		timeout = d.D()
	}
	var body io.Reader
	contentType := ""
	switch b := in.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, actions.Permanent(err)
		}
		body = bytes.NewReader(data)
		contentType = "application/json"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := a.egress().CheckURL(ctx, u); err != nil {
		switch {
		case egress.IsDenied(err) && req.DryRun:
			return nil, actions.Permanentf("dry run: the egress policy would refuse %s %s: %w", method, redactURL(u), err)
		case egress.IsDenied(err):
			return nil, actions.Permanentf("%s %s: %w", method, redactURL(u), err)
		case req.DryRun:
			return dryRun(method, u, "not checked: "+err.Error()+"; checked again when the request is sent"), nil
		}
		return nil, fmt.Errorf("%s %s: %w", method, redactURL(u), err)
	}
	if req.DryRun {
		return dryRun(method, u, "allowed"), nil
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, actions.Permanent(err)
	}
	if contentType != "" {
		hreq.Header.Set("Content-Type", contentType)
	}
	hreq.Header.Set("User-Agent", "firebreak")
	hreq.Header.Set("Idempotency-Key", req.IdempotencyKey())
	for k, v := range in.Headers {
		hreq.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := a.HTTP.Do(hreq)
	if err != nil {
		err = fmt.Errorf("%s %s: %w", method, redactURL(u), unwrapURLError(err))
		if egress.IsDenied(err) {
			// A redirect, or a name that resolved differently when dialled.
			return nil, actions.Permanent(err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading body: %w", method, redactURL(u), err)
	}
	out := map[string]any{
		"latencyMs": float64(time.Since(start).Microseconds()) / 1000,
		"status":    int64(resp.StatusCode),
		"headers":   flatHeaders(resp.Header),
		"body":      string(data),
	}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		var parsed any
		if json.Unmarshal(data, &parsed) == nil {
			out["json"] = parsed
		}
	}
	if !expect(resp.StatusCode) {
		err := fmt.Errorf("%s %s: status %d, expected %s", method, redactURL(u), resp.StatusCode, describeExpected(in.ExpectedStatus))
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout {
			return nil, actions.Permanent(err)
		}
		return nil, err
	}
	return out, nil
}

// dryRun is the output of a dry run: what would be sent, and what the
// egress policy says of it.
func dryRun(method string, u *url.URL, verdict string) map[string]any {
	return map[string]any{"dryRun": true, "wouldRun": actions.HTTPRequest, "method": method, "url": redactURL(u), "egress": verdict}
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// redactURL hides user info and credential query parameters in URLs
// shown in errors.
func redactURL(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User("redacted")
	}
	return redact.URL(c.String())
}

func flatHeaders(h http.Header) map[string]any {
	out := make(map[string]any, len(h))
	for k, v := range h {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

func expected(v any) (func(int) bool, error) {
	switch x := v.(type) {
	case nil:
		return func(s int) bool { return s >= 200 && s < 300 }, nil
	case string:
		if x == "any" {
			// Probes record whatever status comes back.
			return func(int) bool { return true }, nil
		}
	case float64:
		return func(s int) bool { return s == int(x) }, nil
	case []any:
		set := map[int]bool{}
		for _, e := range x {
			f, ok := e.(float64)
			if !ok {
				return nil, fmt.Errorf("expectedStatus must be a status or a list of statuses")
			}
			set[int(f)] = true
		}
		return func(s int) bool { return set[s] }, nil
	}
	return nil, fmt.Errorf("expectedStatus must be a status, a list of statuses or \"any\", not %v", v)
}

func describeExpected(v any) string {
	if v == nil {
		return "2xx"
	}
	b, _ := json.Marshal(v)
	return string(b)
}
