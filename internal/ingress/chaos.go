package ingress

import (
	"context"
	"net/http"
	"time"

	"github.com/firebreak-ops/firebreak/internal/service"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// registerChaos adds the chaos experiment, halt and game day endpoints.
func (a *API) registerChaos() {
	a.Handle("GET /v1/experiments", a.listExperiments)
	a.Handle("POST /v1/experiments/runs", a.startExperiment)
	a.Handle("GET /v1/experiments/runs/{id}", a.getExperimentRun)
	a.Handle("GET /v1/experiments/runs/{id}/report", a.experimentReport)
	a.Handle("POST /v1/experiments/runs/{id}/abort", a.abortExperiment)
	a.Handle("GET /v1/chaos", a.chaosState)
	a.Handle("POST /v1/chaos/halt", a.haltChaos)
	a.Handle("POST /v1/chaos/resume", a.resumeChaos)
	a.Handle("GET /v1/gamedays", a.listGameDays)
	a.Handle("POST /v1/gamedays/{name}/pause", a.gameDayOp("pause"))
	a.Handle("POST /v1/gamedays/{name}/unpause", a.gameDayOp("unpause"))
	a.Handle("POST /v1/gamedays/{name}/trigger", a.gameDayOp("trigger"))
	a.Handle("DELETE /v1/gamedays/{name}", a.gameDayOp("delete"))
	a.Handle("GET /v1/gamedays/runs/{id}", a.getGameDayRun)
	a.Handle("GET /v1/gamedays/runs/{id}/report", a.gameDayReport)
}

// decodeOptional decodes a JSON body when there is one.
func decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return DecodeJSON(r, v)
}

func (a *API) listExperiments(_ http.ResponseWriter, _ *http.Request) (int, any, error) {
	return http.StatusOK, a.svc.ExperimentList(), nil
}

func (a *API) startExperiment(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	var req service.ExperimentRequest
	if err := DecodeJSON(r, &req); err != nil {
		return 0, nil, err
	}
	if p := PrincipalOf(r); p != nil {
		req.RequestedBy, req.Principal = p.ID, p
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ref, err := a.svc.StartExperiment(ctx, req)
	if err != nil {
		return 0, nil, err
	}
	a.log.Info("experiment started", "id", ref.ID, "dryRun", req.DryRun, "by", req.RequestedBy)
	return http.StatusCreated, ref, nil
}

func (a *API) getExperimentRun(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := a.svc.GetExperimentRun(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

// experimentReport serves the Markdown report, or with ?format=svg the
// probe chart alone.
func (a *API) experimentReport(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id := r.PathValue("id")
	if r.URL.Query().Get("format") == "svg" {
		svg, err := a.svc.ExperimentChart(ctx, id)
		if err != nil {
			return 0, nil, err
		}
		writeText(w, "image/svg+xml", svg)
		return 0, nil, nil
	}
	md, err := a.svc.ExperimentReport(ctx, id)
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
	if p := PrincipalOf(r); p != nil {
		h.By = p.ID
	}
	if h.By == "" {
		h.By = "api"
	}
	return h, nil
}

func (a *API) abortExperiment(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	h, err := haltOf(r)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	id := r.PathValue("id")
	if err := a.svc.AbortExperiment(ctx, id, h); err != nil {
		return 0, nil, err
	}
	a.log.Warn("experiment aborted", "id", id, "by", h.By, "reason", h.Reason)
	return http.StatusAccepted, map[string]string{"id": id, "status": "aborting"}, nil
}

func (a *API) chaosState(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	st, err := a.svc.ChaosState(r.Context())
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

func (a *API) haltChaos(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.chaosSwitch(r, a.svc.HaltChaos)
}

func (a *API) resumeChaos(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.chaosSwitch(r, a.svc.ResumeChaos)
}

func (a *API) chaosSwitch(r *http.Request, do func(context.Context, chaoswire.ChaosHalt) (*chaoswire.ChaosState, error)) (int, any, error) {
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
	a.log.Warn("chaos switched", "path", r.URL.Path, "by", h.By, "reason", h.Reason, "halted", st.Halted, "running", len(st.Running))
	return http.StatusOK, st, nil
}

func (a *API) listGameDays(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	out, err := a.svc.ListGameDays(ctx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (a *API) gameDayOp(op string) HandlerFunc {
	return func(_ http.ResponseWriter, r *http.Request) (int, any, error) {
		h, err := haltOf(r)
		if err != nil {
			return 0, nil, err
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		out, err := a.svc.GameDayControl(ctx, r.PathValue("name"), op, h.By, h.Reason)
		if err != nil {
			return 0, nil, err
		}
		a.log.Info("game day "+op, "name", r.PathValue("name"), "by", h.By)
		if op == "delete" {
			return http.StatusOK, map[string]string{"name": r.PathValue("name"), "status": "deleted"}, nil
		}
		return http.StatusOK, out, nil
	}
}

func (a *API) getGameDayRun(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	st, err := a.svc.GetGameDayRun(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, st, nil
}

func (a *API) gameDayReport(w http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	md, err := a.svc.GameDayReport(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	writeText(w, "text/markdown; charset=utf-8", md)
	return 0, nil, nil
}
