package runbook

import (
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// onAlert records an alert or event and makes it the one expressions see.
func (r *runner) onAlert(sig runwire.AlertSignal) {
	r.alerts++
	r.reportAlert(sig)
	rec := runwire.AlertRecord{Source: sig.Source, FirstAt: sig.ReceivedAt, LastAt: sig.ReceivedAt, Count: 1}
	switch {
	case sig.Alert != nil:
		r.alert = runwire.AlertVars(sig.Alert)
		if r.alertList {
			r.keepLatest(sig.Alert)
		}
		rec.Fingerprint, rec.Status, rec.Labels = sig.Alert.Fingerprint, sig.Alert.Status, sig.Alert.Labels
		if r.bounded {
			rec.Fingerprint = runwire.Clip(rec.Fingerprint, runwire.MaxLabelBytes)
			rec.Status = runwire.Clip(rec.Status, runwire.MaxLabelBytes)
			rec.Labels = runwire.ClipLabels(rec.Labels)
			r.lastAlert = clipAlert(sig.Alert)
		}
	case sig.Event != nil:
		r.event = runbooks.NormalizeJSON(sig.Event).(map[string]any)
		rec.Fingerprint, _ = sig.Event["id"].(string)
		rec.Status, _ = sig.Event["event_type"].(string)
		if r.bounded {
			rec.Fingerprint = runwire.Clip(rec.Fingerprint, runwire.MaxLabelBytes)
			rec.Status = runwire.Clip(rec.Status, runwire.MaxLabelBytes)
			r.lastEvent = nil
			if !runwire.IsTruncated(runwire.Cap(sig.Event, maxCarriedEvent)) {
				r.lastEvent = sig.Event
			}
		}
	default:
		return
	}
	for i := range r.state.Alerts {
		a := &r.state.Alerts[i]
		if a.Source == rec.Source && a.Fingerprint == rec.Fingerprint && a.Status == rec.Status {
			a.Count++
			a.LastAt = rec.LastAt
			return
		}
	}
	if len(r.state.Alerts) >= maxAlertRecords {
		r.state.Alerts = r.state.Alerts[1:]
	}
	r.state.Alerts = append(r.state.Alerts, rec)
}

// maxCarriedEvent bounds the last event carried into the next execution
// (its JSON); a bigger one is not carried.
const maxCarriedEvent = 64 << 10

// clipAlert is an alert as the next execution's expressions see it:
// labels and annotations clipped.
func clipAlert(a *runwire.Alert) *runwire.Alert {
	c := *a
	c.Labels = runwire.ClipLabels(a.Labels)
	c.Annotations = runwire.ClipLabels(a.Annotations)
	c.GeneratorURL = runwire.Clip(a.GeneratorURL, 2048)
	c.Fingerprint = runwire.Clip(a.Fingerprint, runwire.MaxLabelBytes)
	return &c
}

// keepLatest keeps a as its fingerprint's latest state for the alerts
// variable: an alert seen before is updated where it is, a new one goes
// last; beyond maxAlertRecords the oldest is dropped.
func (r *runner) keepLatest(a *runwire.Alert) {
	c := *a
	if r.bounded {
		c = *clipAlert(a)
	}
	for i := range r.latest {
		if r.latest[i].Fingerprint == c.Fingerprint {
			r.latest[i] = c
			return
		}
	}
	if len(r.latest) >= maxAlertRecords {
		r.latest = r.latest[1:]
	}
	r.latest = append(r.latest, c)
}

// alertsVars is the CEL view of every alert the run received, each in its
// latest state.
func (r *runner) alertsVars() []any {
	out := make([]any, 0, len(r.latest))
	for i := range r.latest {
		out = append(out, runwire.AlertVars(&r.latest[i]))
	}
	return out
}
