// Package codecserver is the API's codec endpoint: POST
// /v1/codec/decode and /v1/codec/encode, in the shape the Temporal Web UI
// and the temporal CLI (--codec-endpoint) call, so people allowed to read
// histories see Firebreak's encrypted payloads in clear. It is
// authenticated and authorized like every other API route (the
// histories.read verb), and answers CORS preflights for the Web UI's
// origins only.
package codecserver

import (
	"net/http"
	"slices"

	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/ingress"
)

// MaxBody caps a codec request: Temporal's payload limit (2 MB) in JSON's
// base64, with room for a batch.
const MaxBody = 8 << 20

// Routes of the codec endpoint; the Web UI appends /decode or /encode to
// Path.
const (
	Path   = "/v1/codec"
	decode = Path + "/decode"
	encode = Path + "/encode"
)

// Register mounts the endpoint on api. origins are the Web UI origins
// (scheme://host:port) whose browsers may call it.
func Register(api *ingress.API, c converter.PayloadCodec, origins []string) {
	h := cors(origins, ingress.LimitBody(MaxBody, converter.NewPayloadCodecHTTPHandler(c)))
	api.HandleAuthenticated("POST "+decode, h, access.HistoriesRead)
	api.HandleAuthenticated("POST "+encode, h, access.HistoriesRead)
	// A preflight carries no credentials and gets no data: it only says
	// which origin, headers and method the real request may use.
	pre := cors(origins, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	api.HandlePublic("OPTIONS "+decode, pre)
	api.HandlePublic("OPTIONS "+encode, pre)
}

// cors adds the CORS answer for an allowed Origin; other origins get none,
// so their browsers refuse to hand the answer to the page.
func cors(origins []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Origin")
		if o := r.Header.Get("Origin"); o != "" && slices.Contains(origins, o) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", o)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
			h.Set("Access-Control-Max-Age", "600")
		}
		next.ServeHTTP(w, r)
	})
}
