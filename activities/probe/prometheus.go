package probe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type promInput struct {
	Query string `json:"query"`
	Time  string `json:"time"`
}

// PrometheusQuery runs an instant query. The output has resultType, count,
// samples ([{labels, value}]) and value: the first sample's value, or the
// scalar, left out when the result is empty so that a guard on it fails
// loudly rather than reading a made-up zero.
func (a *Activities) PrometheusQuery(ctx context.Context, req actions.Request) (any, error) {
	var in promInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	if a.PrometheusURL == "" {
		return nil, actions.Permanentf("no Prometheus configured: set FIREBREAK_PROMETHEUS_URL or prometheus.url")
	}
	hc := a.PrometheusHTTP
	if hc == nil {
		hc = a.HTTP
	}
	client, err := api.NewClient(api.Config{Address: a.PrometheusURL, Client: hc})
	if err != nil {
		return nil, actions.Permanentf("prometheus url: %v", err)
	}
	at := time.Now()
	if in.Time != "" {
		at, err = time.Parse(time.RFC3339, in.Time)
		if err != nil {
			return nil, actions.Permanentf("time must be RFC 3339: %v", err)
		}
	}
	val, warnings, _, err := promv1.NewAPI(client).Query(ctx, in.Query, at)
	if err != nil {
		var perr *promv1.Error
		if errors.As(err, &perr) && perr.Type == promv1.ErrBadData {
			return nil, actions.Permanentf("query %q: %v", in.Query, err)
		}
		return nil, fmt.Errorf("query %q: %w", in.Query, err)
	}
	out := map[string]any{"resultType": val.Type().String(), "query": in.Query}
	if len(warnings) > 0 {
		out["warnings"] = []string(warnings)
	}
	samples := []any{}
	switch v := val.(type) {
	case *model.Scalar:
		out["value"] = num(float64(v.Value))
		out["count"] = int64(1)
	case model.Vector:
		for _, s := range v {
			samples = append(samples, map[string]any{"labels": labels(s.Metric), "value": num(float64(s.Value))})
		}
		if len(v) > 0 {
			out["value"] = num(float64(v[0].Value))
		}
		out["count"] = int64(len(v))
	case model.Matrix:
		for _, s := range v {
			var last any
			if n := len(s.Values); n > 0 {
				last = num(float64(s.Values[n-1].Value))
			}
			samples = append(samples, map[string]any{"labels": labels(s.Metric), "value": last})
		}
		out["count"] = int64(len(v))
	case *model.String:
		out["value"] = v.Value
		out["count"] = int64(1)
	}
	out["samples"] = samples
	return out, nil
}

func labels(m model.Metric) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[string(k)] = string(v)
	}
	return out
}

// num keeps NaN and infinities out of JSON.
func num(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return f
}
