package tests

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// TestDeclareRetried: a declaration retried with its Idempotency-Key
// (a client that timed out, a proxy that resent) declares one incident;
// another key, or another caller with the same key, declares another.
func TestDeclareRetried(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: &config.Config{
		APIToken: "api-token", Principals: []config.Principal{{Token: "tok-bob", Name: "bob"}},
	}})
	declare := func(token, key string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"title": "Checkout 5xx", "severity": "sev3"})
		req, _ := http.NewRequest("POST", fb.URL+"/v1/incidents", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var inc incidentwire.Incident
		if err := json.NewDecoder(resp.Body).Decode(&inc); err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("declare: HTTP %d %v", resp.StatusCode, err)
		}
		return inc.ID
	}
	first := declare("api-token", "k-1")
	if again := declare("api-token", "k-1"); again != first {
		t.Fatalf("retried declaration declared %s, then %s", first, again)
	}
	other := declare("api-token", "k-2")
	bobs := declare("tok-bob", "k-1")
	if other == first || bobs == first || bobs == other {
		t.Fatalf("declared %s, %s, %s", first, other, bobs)
	}
	a := &api{t: t, base: fb.URL, token: "api-token"}
	var listed []incidentwire.IncidentSummary
	for range 50 {
		if a.do("GET", "/v1/incidents", nil, &listed); len(listed) >= 3 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(listed) != 3 {
		t.Fatalf("incidents %+v, want 3", listed)
	}
}
