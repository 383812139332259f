// Package chaosapi serves the HTTP endpoints of chaos experiments, the
// chaos halt switch and game days on the API.
package chaosapi

import (
	"context"
	"net/http"
	"time"

	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// Chaos is what the endpoints need of experiments, the halt switch and
// game days.
type Chaos interface {
	ExperimentList() []plan.Summary
	StartExperiment(ctx context.Context, req chaos.ExperimentRequest) (*chaos.ExperimentRef, error)
	GetExperimentRun(ctx context.Context, id string) (*chaoswire.ExperimentState, error)
	ExperimentReport(ctx context.Context, id string) (string, error)
	ExperimentChart(ctx context.Context, id string) (string, error)
	AbortExperiment(ctx context.Context, id string, h chaoswire.ChaosHalt) error
	ChaosState(ctx context.Context) (*chaoswire.ChaosState, error)
	HaltChaos(ctx context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error)
	ResumeChaos(ctx context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error)
	ListGameDays(ctx context.Context) ([]chaos.GameDaySummary, error)
	GameDayControl(ctx context.Context, name, op string, p *access.Principal, by, note string) (*chaos.GameDaySummary, error)
	GetGameDayRun(ctx context.Context, id string) (*chaoswire.GameDayState, error)
	GameDayReport(ctx context.Context, id string) (string, error)
}

type handlers struct {
	api   *ingress.API
	chaos Chaos
}

// Register mounts the chaos experiment, halt and game day endpoints.
func Register(api *ingress.API, c Chaos) {
	a := &handlers{api: api, chaos: c}
	a.api.Handle("GET /v1/experiments", a.listExperiments, access.ChaosRead)
	// Either verb lets the request in; startExperiment checks the one it
	// needs (a dry run only reads the cluster).
	a.api.Handle("POST /v1/experiments/runs", a.startExperiment, access.ChaosRun, access.ChaosDryRun)
	a.api.Handle("GET /v1/experiments/runs/{id}", a.getExperimentRun, access.ChaosRead)
	a.api.Handle("GET /v1/experiments/runs/{id}/report", a.experimentReport, access.ChaosRead)
	// Aborting one experiment stops a fault: as easy as a halt.
	a.api.Handle("POST /v1/experiments/runs/{id}/abort", a.abortExperiment, access.ChaosHalt)
	a.api.Handle("GET /v1/chaos", a.chaosState, access.ChaosRead)
	a.api.Handle("POST /v1/chaos/halt", a.haltChaos, access.ChaosHalt)
	a.api.Handle("POST /v1/chaos/resume", a.resumeChaos, access.ChaosResume)
	a.api.Handle("GET /v1/gamedays", a.listGameDays, access.ChaosRead)
	a.api.Handle("POST /v1/gamedays/{name}/pause", a.gameDayOp("pause"), access.GamedaysManage)
	a.api.Handle("POST /v1/gamedays/{name}/unpause", a.gameDayOp("unpause"), access.GamedaysManage)
	a.api.Handle("POST /v1/gamedays/{name}/trigger", a.gameDayOp("trigger"), access.GamedaysTrigger)
	a.api.Handle("DELETE /v1/gamedays/{name}", a.gameDayOp("delete"), access.GamedaysManage)
	a.api.Handle("GET /v1/gamedays/runs/{id}", a.getGameDayRun, access.ChaosRead)
	a.api.Handle("GET /v1/gamedays/runs/{id}/report", a.gameDayReport, access.ChaosRead)
}

// decodeOptional decodes a JSON body when there is one.
func decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return ingress.DecodeJSON(r, v)
}

func (a *handlers) listExperiments(_ http.ResponseWriter, _ *http.Request) (int, any, error) {
	return http.StatusOK, a.chaos.ExperimentList(), nil
}

func (a *handlers) startExperiment(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	var req chaos.ExperimentRequest
	if err := ingress.DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	verb := access.ChaosRun
	if req.DryRun {
		verb = access.ChaosDryRun
	}
	if err := a.api.Authorize(r, verb); err != nil {
		return 0, nil, err
	}
	if p := ingress.PrincipalOf(r); p != nil {
		req.RequestedBy, req.Principal = p.ID, p
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ref, err := a.chaos.StartExperiment(ctx, req)
	if err != nil {
		return 0, nil, err
	}
	a.api.Log().Info("experiment started", "id", ref.ID, "dryRun", req.DryRun, "by", req.RequestedBy)
	return http.StatusCreated, ref, nil
}

func (a *handlers) getExperimentRun(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := a.chaos.GetExperimentRun(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

// experimentReport serves the Markdown report, or with ?format=svg the
// probe chart alone.
func (a *handlers) experimentReport(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id := r.PathValue("id")
	if r.URL.Query().Get("format") == "svg" {
		svg, err := a.chaos.ExperimentChart(ctx, id)
		if err != nil {
			return 0, nil, err
		}
		writeText(w, "image/svg+xml", svg)
		return 0, nil, nil
	}
	md, err := a.chaos.ExperimentReport(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	writeText(w, "text/markdown; charset=utf-8", md)
	return 0, nil, nil
}

func writeText(w http.ResponseWriter, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(body))
}

// haltRequest is the body of abort, halt and resume.
type haltRequest struct {
	Reason string `json:"reason"`
	By     string `json:"by"`
}

func haltOf(r *http.Request) (chaoswire.ChaosHalt, error) {
	var req haltRequest
	if err := decodeOptional(r, &req); err != nil {
		return chaoswire.ChaosHalt{}, err
	}
	h := chaoswire.ChaosHalt{Reason: req.Reason, By: req.By}
	if p := ingress.PrincipalOf(r); p != nil {
		h.By = p.ID
	}
	if h.By == "" {
		h.By = "api"
	}
	return h, nil
}

func (a *handlers) abortExperiment(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	h, err := haltOf(r)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id := r.PathValue("id")
	if err := a.chaos.AbortExperiment(ctx, id, h); err != nil {
		return 0, nil, err
	}
	a.api.Log().Warn("experiment aborted", "id", id, "by", h.By, "reason", h.Reason)
	return http.StatusAccepted, map[string]string{"id": id, "status": "aborting"}, nil
}

func (a *handlers) chaosState(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	st, err := a.chaos.ChaosState(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

func (a *handlers) haltChaos(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.chaosSwitch(r, a.chaos.HaltChaos)
}

func (a *handlers) resumeChaos(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.chaosSwitch(r, a.chaos.ResumeChaos)
}

func (a *handlers) chaosSwitch(r *http.Request, do func(context.Context, chaoswire.ChaosHalt) (*chaoswire.ChaosState, error)) (int, any, error) {
	h, err := haltOf(r)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := do(ctx, h)
	if err != nil {
		return 0, nil, err
	}
	a.api.Log().Warn("chaos switched", "path", r.URL.Path, "by", h.By, "reason", h.Reason, "halted", st.Halted, "running", len(st.Running))
	return http.StatusOK, st, nil
}

func (a *handlers) listGameDays(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	out, err := a.chaos.ListGameDays(ctx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (a *handlers) gameDayOp(op string) ingress.HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		h, err := haltOf(r)
		if err != nil {
			return 0, nil, err
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		out, err := a.chaos.GameDayControl(ctx, r.PathValue("name"), op, ingress.PrincipalOf(r), h.By, h.Reason)
		if err != nil {
			return 0, nil, err
		}
		a.api.Log().Info("game day "+op, "name", r.PathValue("name"), "by", h.By)
		if op == "delete" {
			return http.StatusOK, map[string]string{"name": r.PathValue("name"), "status": "deleted"}, nil
		}
		return http.StatusOK, out, nil
	}
}

func (a *handlers) getGameDayRun(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := a.chaos.GetGameDayRun(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

func (a *handlers) gameDayReport(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	md, err := a.chaos.GameDayReport(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	writeText(w, "text/markdown; charset=utf-8", md)
	return 0, nil, nil
}
