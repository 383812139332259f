package ingress

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Default per-source limits of the webhooks: far above what Alertmanager,
// PagerDuty or Slack send, low enough that one runaway sender cannot
// starve the others.
const (
	DefaultWebhookRate  = 500
	DefaultWebhookBurst = 1000
)

// SourceLimiter limits requests per remote address with a token bucket
// each; buckets idle for ten minutes are forgotten.
type SourceLimiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	sources map[string]*source
	swept   time.Time
}

type source struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewSourceLimiter allows perSecond requests per source, in bursts of
// burst; perSecond ≤ 0 means no limit.
func NewSourceLimiter(perSecond float64, burst int) *SourceLimiter {
	if perSecond <= 0 {
		return nil
	}
	return &SourceLimiter{rate: rate.Limit(perSecond), burst: max(burst, 1), sources: map[string]*source{}}
}

// Wrap answers 429 with Retry-After to a source over its limit.
func (l *SourceLimiter) Wrap(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		res := l.limiter(host).Reserve()
		if delay := res.Delay(); delay > 0 {
			res.Cancel()
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(delay.Seconds()))))
			WriteJSON(w, http.StatusTooManyRequests, ErrorBody{Error: "too many requests from " + host + "; retry later"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (l *SourceLimiter) limiter(host string) *rate.Limiter {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for h, s := range l.sources {
			if now.Sub(s.seen) > 10*time.Minute {
				delete(l.sources, h)
			}
		}
		l.swept = now
	}
	s, ok := l.sources[host]
	if !ok {
		s = &source{lim: rate.NewLimiter(l.rate, l.burst)}
		l.sources[host] = s
	}
	s.seen = now
	return s.lim
}
