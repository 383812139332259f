package alertmanager

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCredentials(t *testing.T) {
	for _, tc := range []struct {
		name  string
		creds Credentials
		set   func(r *http.Request)
		ok    bool
	}{
		// With no credentials configured the webhook refuses everything,
		// unless the whole API runs open on purpose (dev on loopback).
		{"no credentials configured", Credentials{}, func(*http.Request) {}, false},
		{"no credentials configured, bearer sent", Credentials{}, func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") }, false},
		{"open API", Credentials{Open: true}, func(*http.Request) {}, true},
		{"bearer", Credentials{Token: "t"}, func(r *http.Request) { r.Header.Set("Authorization", "Bearer t") }, true},
		{"wrong bearer", Credentials{Token: "t"}, func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, false},
		{"none given", Credentials{Token: "t"}, func(*http.Request) {}, false},
		{"basic", Credentials{Username: "am", Password: "pw"}, func(r *http.Request) { r.SetBasicAuth("am", "pw") }, true},
		{"wrong basic", Credentials{Username: "am", Password: "pw"}, func(r *http.Request) { r.SetBasicAuth("am", "no") }, false},
		{"either: basic", Credentials{Token: "t", Username: "am", Password: "pw"}, func(r *http.Request) { r.SetBasicAuth("am", "pw") }, true},
	} {
		r := httptest.NewRequest("POST", Path, nil)
		tc.set(r)
		if got := tc.creds.allow(r); got != tc.ok {
			t.Errorf("%s: allow=%v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestIncoming(t *testing.T) {
	for _, tc := range []struct {
		body string
		want string
	}{
		{`{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"X","weird key ✓":"va\"lue\n"}}]}`, ""},
		{`{"version":"3","alerts":[]}`, "unsupported Alertmanager webhook version"},
		{`{"version":"4","alerts":[{"status":"firing","labels":{}}]}`, "has no labels"},
		{`{"version":"4","alerts":[{"status":"pending","labels":{"a":"b"}}]}`, "firing or resolved"},
	} {
		var m Message
		if err := json.Unmarshal([]byte(tc.body), &m); err != nil {
			t.Fatal(err)
		}
		items, err := m.incoming()
		if tc.want == "" {
			if err != nil || len(items) != 1 || items[0].Alert.Fingerprint == "" {
				t.Errorf("%s: %v %+v", tc.body, err, items)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.body, err, tc.want)
		}
	}
}

// FuzzMessage feeds arbitrary bodies through decoding and checking: no
// panic, and every accepted alert has a status, labels and a fingerprint.
func FuzzMessage(f *testing.F) {
	f.Add(`{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"prod"},"startsAt":"2026-11-26T03:00:00Z","fingerprint":"abc"}]}`)
	f.Add(`{"version":"4","alerts":[{"status":"resolved","labels":{"a":""},"endsAt":"0001-01-01T00:00:00Z"}]}`)
	f.Add(`{"version":"4","alerts":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		var m Message
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		items, err := m.incoming()
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Alert == nil || it.Alert.Fingerprint == "" || len(it.Alert.Labels) == 0 {
				t.Fatalf("accepted a bad alert: %+v", it.Alert)
			}
		}
	})
}
