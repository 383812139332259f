package ingress

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSourceLimiter(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := NewSourceLimiter(1, 3).Wrap(ok)
	send := func(addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/v1/alerts/alertmanager", nil)
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	for i := 0; i < 3; i++ {
		if w := send("10.0.0.1:5000"); w.Code != http.StatusNoContent {
			t.Fatalf("request %d within the burst: %d", i, w.Code)
		}
	}
	w := send("10.0.0.1:5001")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("over the limit: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if w := send("10.0.0.2:5000"); w.Code != http.StatusNoContent {
		t.Fatalf("another source was limited too: %d", w.Code)
	}
	if NewSourceLimiter(0, 10).Wrap(ok) == nil {
		t.Fatal("a zero rate must mean no limiter")
	}
}
