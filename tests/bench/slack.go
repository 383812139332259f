package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// benchSigningSecret signs the bench's slash commands.
const benchSigningSecret = "bench-signing-secret"

// slackAck measures how fast /firebreak commands are acknowledged with 50
// sent at once (Slack gives up after 3 s; the target is 50 ms at p99). The
// work itself goes on in the background and reports to a local
// response_url.
func (b *bench) slackAck() error {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer sink.Close()
	var p50s, p99s []float64
	for r := 0; r < b.runs; r++ {
		lat := make([]float64, 50)
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := range lat {
			wg.Add(1)
			go func() {
				defer wg.Done()
				form := url.Values{
					"command": {"/firebreak"}, "text": {fmt.Sprintf("run hello-world name=bench-%d-%d --dry-run", r, i)},
					"user_id": {"U0BENCH"}, "user_name": {"bench"}, "channel_id": {"C0BENCH"},
					"team_id": {"T0BENCH"}, "response_url": {sink.URL}, "trigger_id": {"x"},
				}
				body := form.Encode()
				ts := strconv.FormatInt(time.Now().Unix(), 10)
				mac := hmac.New(sha256.New, []byte(benchSigningSecret))
				mac.Write([]byte("v0:" + ts + ":" + body))
				req, _ := http.NewRequest("POST", b.api+"/v1/slack/commands", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Slack-Request-Timestamp", ts)
				req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = float64(time.Since(start).Microseconds()) / 1000
				if resp.StatusCode != 200 {
					errs <- fmt.Errorf("slash command answered %d", resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return err
		}
		p50s, p99s = append(p50s, pct(lat, 50)), append(p99s, pct(lat, 99))
		time.Sleep(2 * time.Second) // the dry runs finish
	}
	p99 := median(p99s)
	b.add(Figure{Name: "Slack: slash-command ack p50 (50 at once)", Value: median(p50s), Unit: "ms"})
	b.add(Figure{Name: "Slack: slash-command ack p99 (50 at once)", Value: p99, Unit: "ms", Target: "≤ 50 ms", Met: ptr(p99 <= 50)})
	return nil
}
