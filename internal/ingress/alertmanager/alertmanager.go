// Package alertmanager receives Alertmanager's webhook notifications
// (payload version 4) and hands every alert to the router, which starts
// or joins the runs the alerts match.
package alertmanager

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	"github.com/firebreak-ops/firebreak/internal/router"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Path is where Alertmanager's webhook receiver posts.
const Path = "/v1/alerts/alertmanager"

// MaxBody caps a notification; Alertmanager groups are rarely beyond a
// few hundred kilobytes.
const MaxBody = 4 << 20

// Message is Alertmanager's webhook payload, version 4, as documented for
// its webhook receiver.
type Message struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// Alert is one alert of a notification.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// Credentials say what Alertmanager must present: a bearer token, basic
// auth, or either. With none set the endpoint is open (dev only).
type Credentials struct {
	Token    string
	Username string
	Password string
	// Open lets requests in without credentials when none are set: only
	// when the whole API runs without authentication on purpose.
	Open bool
}

func (c Credentials) empty() bool { return c.Token == "" && c.Username == "" }

func (c Credentials) allow(r *http.Request) bool {
	if c.empty() {
		return c.Open
	}
	if c.Token != "" && ingress.BearerMatches(r, c.Token) {
		return true
	}
	if c.Username != "" {
		u, p, ok := r.BasicAuth()
		return ok && subtle.ConstantTimeCompare([]byte(u), []byte(c.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(p), []byte(c.Password)) == 1
	}
	return false
}

// Response lists what every alert started, joined or why not.
type Response struct {
	Received int              `json:"received"`
	Counts   map[string]int   `json:"counts"`
	Outcomes []router.Outcome `json:"outcomes"`
}

// Router is what the webhook needs of the router: alerts delivered to
// the runs they match.
type Router interface {
	Deliver(ctx context.Context, items []router.Incoming) ([]router.Outcome, error)
}

// Handler serves the webhook.
type Handler struct {
	API    *ingress.API
	Router Router
	Creds  Credentials
}

// Register mounts the webhook on the API.
func Register(api *ingress.API, r Router, creds Credentials) {
	api.HandleRaw("POST "+Path, ingress.LimitBody(MaxBody, &Handler{API: api, Router: r, Creds: creds}))
}

// ServeHTTP authenticates, decodes and delivers a notification. It answers
// 200 only once Temporal has accepted every start and signal; 503 tells
// Alertmanager to retry, which is safe because repeats join open runs.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.Creds.allow(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="firebreak", Basic realm="firebreak"`)
		msg := "missing or wrong Alertmanager credentials"
		if h.Creds.empty() {
			msg = "the Alertmanager webhook has no credentials configured (alertmanager.token, alertmanager.username/password or apiToken), so it accepts no alert"
		}
		ingress.WriteJSON(w, http.StatusUnauthorized, ingress.ErrorBody{Error: msg})
		return
	}
	var msg Message
	if err := ingress.DecodeJSONLenient(r, &msg); err != nil {
		h.API.Error(w, r, err)
		return
	}
	items, err := msg.incoming()
	if err != nil {
		ingress.WriteJSON(w, http.StatusBadRequest, ingress.ErrorBody{Error: err.Error()})
		return
	}
	ctx, cancel := h.API.WebhookContext(r)
	defer cancel()
	outcomes, err := h.Router.Deliver(ctx, items)
	if err != nil {
		var se *access.Error
		if !errors.As(err, &se) {
			err = &access.Error{Kind: access.Unavailable, Msg: "not all alerts were accepted, retry: " + err.Error()}
		}
		h.API.Log().Warn("alertmanager notification not accepted", "err", err, "alerts", len(items))
		h.API.Error(w, r, err)
		return
	}
	resp := Response{Received: len(items), Counts: map[string]int{}, Outcomes: outcomes}
	for _, o := range outcomes {
		resp.Counts[o.Result]++
	}
	if resp.Outcomes == nil {
		resp.Outcomes = []router.Outcome{}
	}
	h.API.Log().Info("alertmanager notification", "group", msg.GroupKey, "alerts", len(items),
		"started", resp.Counts[router.Started], "joined", resp.Counts[router.Joined], "suppressed", resp.Counts[router.Suppressed])
	ingress.WriteJSON(w, http.StatusOK, resp)
}

// incoming checks the message and turns its alerts into deliveries.
func (m *Message) incoming() ([]router.Incoming, error) {
	if m.Version != "4" {
		return nil, fmt.Errorf("unsupported Alertmanager webhook version %q (want \"4\")", m.Version)
	}
	out := make([]router.Incoming, 0, len(m.Alerts))
	for i, a := range m.Alerts {
		switch a.Status {
		case "firing", "resolved":
		default:
			return nil, fmt.Errorf("alerts[%d].status must be firing or resolved, not %q", i, a.Status)
		}
		if len(a.Labels) == 0 {
			return nil, fmt.Errorf("alerts[%d] has no labels", i)
		}
		if a.Fingerprint == "" {
			a.Fingerprint = fingerprint(a.Labels)
		}
		out = append(out, router.Incoming{Source: runwire.TriggerAlertmanager, Alert: &runwire.Alert{
			Status: a.Status, Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt,
			EndsAt: a.EndsAt, GeneratorURL: a.GeneratorURL, Fingerprint: a.Fingerprint,
		}})
	}
	return out, nil
}

// fingerprint stands in for Alertmanager's own when a sender leaves it out:
// a stable hash of the sorted label set.
func fingerprint(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\xff%s\xff", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
