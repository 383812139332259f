package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Stream limits: a stream ends after streamFor (the browser's
// EventSource reconnects by itself, re-checking the session), and sends a
// comment at least every heartbeat so proxies keep it open.
const (
	streamFor = 10 * time.Minute
	heartbeat = 20 * time.Second
)

// stream sends a view's live blocks as server-sent events: every
// c.opts.Every it loads the view again and sends, as one "update" event,
// the blocks whose HTML changed ({"block id": "html"}). A load that fails
// sends a "problem" event with the message the page would show.
func (c *Console) stream(w http.ResponseWriter, r *http.Request, v *viewer, vw view) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	last := map[string]string{}
	end := time.Now().Add(streamFor)
	lastSent := time.Now()
	tick := time.NewTicker(c.opts.Every)
	defer tick.Stop()
	send := func(event string, data any) bool {
		b, _ := json.Marshal(data)
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return false
		}
		lastSent = time.Now()
		return rc.Flush() == nil
	}
	// The browser reconnects after this long if the stream breaks.
	_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
	fmt.Fprint(w, "retry: 3000\n\n")
	_ = rc.Flush()
	for {
		data, err := vw.load(r, v)
		if err != nil {
			_, msg := c.door.Status(r, err)
			if !send("problem", map[string]string{"message": msg}) {
				return
			}
		} else {
			d := &pageData{V: v, Nav: vw.nav, Path: r.URL.Path, Live: true, Data: data, Now: c.now()}
			changed := map[string]string{}
			for _, block := range vw.live {
				html, err := c.fragment(vw.template, block, d)
				if err != nil {
					c.log.Error("console fragment failed", "page", vw.template, "block", block, "err", err)
					return
				}
				if html != last[block] {
					changed[block], last[block] = html, html
				}
			}
			if len(changed) > 0 && !send("update", changed) {
				return
			}
		}
		if time.Since(lastSent) >= heartbeat {
			_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			if _, err := fmt.Fprint(w, ": still here\n\n"); err != nil || rc.Flush() != nil {
				return
			}
			lastSent = time.Now()
		}
		if time.Now().After(end) {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}
