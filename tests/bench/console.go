package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// consolePages measures the console's server time (its Server-Timing
// header: loading from Temporal and rendering, before the first byte is
// written) for every page, with at least 1,000 runs (20 of them waiting
// for an approval) and 100 incidents on the engine. Each page is asked
// consoleRequests times, one request at a time; its rows are the median
// (held to the target) and the 95th percentile.
func (b *bench) consolePages() error {
	nRuns, nWaiting, nIncidents := 1000, 20, 100
	if b.quick {
		nRuns, nWaiting, nIncidents = 200, 10, 20
	}
	began := time.Now()
	var mu sync.Mutex
	var firstRun, firstIncident string
	err := each(16, nRuns, func(i int) error {
		times := 1
		if i < nWaiting {
			times = 5 // hello-world asks for an approval above 3
		}
		var ref struct{ ID string }
		if err := b.postJSON("/v1/runs", map[string]any{"runbook": "hello-world", "params": map[string]any{"name": fmt.Sprintf("console-%d", i), "times": times}}, &ref); err != nil {
			return err
		}
		mu.Lock()
		if i == 0 {
			firstRun = ref.ID
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("seeding runs: %w", err)
	}
	err = each(4, nIncidents, func(i int) error {
		var inc struct{ ID string }
		sev := []string{"sev3", "sev4"}[i%2]
		if err := b.postJSON("/v1/incidents", map[string]any{"title": fmt.Sprintf("bench incident %d", i), "severity": sev, "services": []string{"checkout"}}, &inc); err != nil {
			return err
		}
		mu.Lock()
		if i == 0 {
			firstIncident = inc.ID
		}
		mu.Unlock()
		return nil
	})
	if err != nil {
		return fmt.Errorf("seeding incidents: %w", err)
	}
	// Measure a settled engine: the runs that need no approval have
	// finished (the rest wait), as on a day with that much history.
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		resp, err := http.Get(b.api + "/v1/runs?status=running&limit=5")
		if err != nil {
			return err
		}
		var running []struct{ ID string }
		err = json.NewDecoder(resp.Body).Decode(&running)
		resp.Body.Close()
		if err == nil && len(running) == 0 {
			break
		}
	}
	time.Sleep(5 * time.Second)
	fmt.Fprintf(os.Stderr, "  console: seeded %d runs and %d incidents in %s\n", nRuns, nIncidents, time.Since(began).Round(time.Millisecond))
	older, err := b.olderLink()
	if err != nil {
		return err
	}
	pages := []string{
		"/",
		"/runs",
		"/runs?runbook=hello-world&status=succeeded",
		older,
		"/runs/" + url.PathEscape(firstRun),
		"/approvals",
		"/incidents",
		"/incidents?status=all",
		"/incidents/" + url.PathEscape(firstIncident),
		"/automation",
		"/chaos",
	}
	for _, p := range pages {
		ms, err := b.serverTimes(p)
		if err != nil {
			return err
		}
		if p == older {
			p = "/runs (second page)"
		}
		p50, p95 := percentile(ms, 50), percentile(ms, 95)
		b.add(Figure{Name: fmt.Sprintf("console GET %s: server time p50 (%d runs, %d incidents)", p, nRuns, nIncidents),
			Value: p50, Unit: "ms", Target: "< 100 ms", Met: ptr(p50 < 100)})
		b.add(Figure{Name: fmt.Sprintf("console GET %s: server time p95", p), Value: p95, Unit: "ms"})
	}
	return nil
}

var olderRe = regexp.MustCompile(`href="(/runs\?page=[^"]+)"`)

// olderLink reads the runs page's link to its second page.
func (b *bench) olderLink() (string, error) {
	resp, err := http.Get(b.api + "/runs")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := olderRe.FindSubmatch(body)
	if m == nil {
		return "", fmt.Errorf("the runs page has no link to older runs")
	}
	return html.UnescapeString(string(m[1])), nil
}

// consoleRequests is how often each console page is asked.
const consoleRequests = 20

// serverTimes asks for a page and returns the server time of each answer
// (ms), read from Server-Timing.
func (b *bench) serverTimes(path string) ([]float64, error) {
	var out []float64
	for i := 0; i < consoleRequests; i++ {
		resp, err := http.Get(b.api + path)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("console GET %s: %d", path, resp.StatusCode)
		}
		dur, ok := strings.CutPrefix(strings.SplitN(resp.Header.Get("Server-Timing"), ",", 2)[0], "app;dur=")
		if !ok {
			return nil, fmt.Errorf("console GET %s: no Server-Timing", path)
		}
		ms, err := strconv.ParseFloat(dur, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, ms)
	}
	return out, nil
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

// postJSON posts to the (open) API and decodes a 2xx answer; a 429 (the
// engine busy with the runs just seeded) is retried, as a client would.
func (b *bench) postJSON(path string, body, out any) error {
	data, _ := json.Marshal(body)
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		var err error
		resp, err = http.Post(b.api+path, "application/json", bytes.NewReader(data))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusTooManyRequests || attempt == 10 {
			break
		}
		resp.Body.Close()
		time.Sleep(2 * time.Second)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, msg)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// each runs f for 0..n-1, at most k at a time, and returns the first
// error.
func each(k, n int, f func(i int) error) error {
	sem := make(chan struct{}, k)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(i); err != nil {
				once.Do(func() { first = err })
			}
		}()
	}
	wg.Wait()
	return first
}
