// Package slackfake is a Slack stand-in for tests, built on slack-go's
// slacktest server: it records chat.postMessage and chat.update calls and
// keeps each message's latest blocks and metadata, answers
// conversations.history and .replies from them, answers usergroups.list
// from a fixed list, receives response_url posts, and can fail the next
// calls of a method (a 429 with Retry-After, a Slack error code, a 5xx),
// also after doing what was asked (a lost answer).
package slackfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// Call is one Web API call the server answered.
type Call struct {
	Method  string
	At      time.Time
	Token   string
	Channel string
	TS      string
	// ThreadTS is the thread a post replies in.
	ThreadTS string
	Text     string
	Blocks   slackgo.Blocks
	// Failed says the call was answered with an injected failure.
	Failed bool
}

// Message is a message as it stands now.
type Message struct {
	Channel string
	TS      string
	// ThreadTS is the thread the message replies in.
	ThreadTS string
	Text     string
	Blocks   slackgo.Blocks
	Metadata slackgo.SlackMetadata
	Updates  int
}

// Response is one post to a response_url.
type Response struct {
	Path string
	At   time.Time
	Body map[string]any
}

// Text is the response's text.
func (r Response) Text() string { s, _ := r.Body["text"].(string); return s }

// Failure is an injected answer.
type Failure struct {
	// Status is the HTTP status (default 200 with ok:false).
	Status int
	// RetryAfter is the Retry-After header in seconds (with 429).
	RetryAfter int
	// Error is Slack's error code (with status 200).
	Error string
	// Applied does what the call asks before answering with the failure,
	// as when Slack acts but its answer is lost.
	Applied bool
}

// Server is the fake.
type Server struct {
	*slacktest.Server
	t testing.TB

	mu        sync.Mutex
	calls     []Call
	messages  map[string]*Message
	order     []string
	responses []Response
	failures  map[string][]Failure
	groups    []slackgo.UserGroup
	seq       int
	// channelState holds channels (channels.go).
	channelState *channels
}

// New starts a fake Slack and stops it when the test ends.
func New(t testing.TB) *Server {
	s := &Server{t: t, messages: map[string]*Message{}, failures: map[string][]Failure{}}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", s.chat("chat.postMessage"))
		c.Handle("/chat.update", s.chat("chat.update"))
		c.Handle("/conversations.history", s.history)
		c.Handle("/conversations.replies", s.history)
		c.Handle("/usergroups.list", s.userGroups)
		c.Handle("/response/", s.response)
		s.handleChannels(c)
	})
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// URL is the API base URL to give slack.OptionAPIURL.
func (s *Server) URL() string { return s.GetAPIURL() }

// ResponseURL returns a response_url on this server.
func (s *Server) ResponseURL(name string) string {
	return s.GetAPIURL() + "response/" + url.PathEscape(name)
}

// SetGroups sets what usergroups.list answers: handle → member user IDs.
func (s *Server) SetGroups(groups map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = nil
	for h, users := range groups {
		s.groups = append(s.groups, slackgo.UserGroup{ID: "S" + strings.ToUpper(h), Handle: h, Name: h, IsUserGroup: true, Users: users, UserCount: len(users)})
	}
}

// FailNext makes the next calls of a method (chat.update,
// chat.postMessage, usergroups.list) fail, one failure per call.
func (s *Server) FailNext(method string, f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], f...)
}

func (s *Server) takeFailure(method string) (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.failures[method]
	if len(q) == 0 {
		return Failure{}, false
	}
	s.failures[method] = q[1:]
	return q[0], true
}

func fail(w http.ResponseWriter, f Failure) {
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	if f.Status != 0 && f.Status != http.StatusOK {
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte("failure injected by slackfake"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": f.Error})
}

func token(r *http.Request, form url.Values) string {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return t
	}
	return form.Get("token")
}

func (s *Server) chat(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		call := Call{Method: method, At: time.Now(), Token: token(r, form), Channel: form.Get("channel"), TS: form.Get("ts"), ThreadTS: form.Get("thread_ts"), Text: form.Get("text")}
		if b := form.Get("blocks"); b != "" {
			if err := json.Unmarshal([]byte(b), &call.Blocks); err != nil {
				s.t.Errorf("slackfake: %s with bad blocks: %v", method, err)
			}
		}
		var meta slackgo.SlackMetadata
		if m := form.Get("metadata"); m != "" {
			if err := json.Unmarshal([]byte(m), &meta); err != nil {
				s.t.Errorf("slackfake: %s with bad metadata: %v", method, err)
			}
		}
		f, failed := s.takeFailure(method)
		if failed && !f.Applied {
			call.Failed = true
			s.record(call)
			fail(w, f)
			return
		}
		s.mu.Lock()
		var m *Message
		if method == "chat.update" {
			m = s.messages[call.Channel+"/"+call.TS]
			if m == nil {
				s.mu.Unlock()
				s.record(call)
				fail(w, Failure{Error: "message_not_found"})
				return
			}
			m.Updates++
		} else {
			s.seq++
			call.TS = fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq)
			m = &Message{Channel: call.Channel, TS: call.TS, ThreadTS: call.ThreadTS}
			s.messages[call.Channel+"/"+call.TS] = m
			s.order = append(s.order, call.Channel+"/"+call.TS)
		}
		m.Text, m.Blocks = call.Text, call.Blocks
		if meta.EventType != "" {
			m.Metadata = meta
		}
		call.Failed = failed
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		if failed {
			fail(w, f)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": call.Channel, "ts": call.TS, "text": call.Text})
	}
}

// history answers conversations.history (a channel's messages, newest
// first, no thread replies) and conversations.replies (a thread's parent
// and replies, oldest first), with metadata when asked for it.
func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	method := strings.TrimPrefix(r.URL.Path, "/")
	call, failed, f := s.form(method, r)
	if failed {
		fail(w, f)
		return
	}
	thread := ""
	if method == "conversations.replies" {
		thread = r.PostForm.Get("ts")
	}
	withMeta := r.PostForm.Get("include_all_metadata") == "1"
	s.mu.Lock()
	var out []map[string]any
	for _, k := range s.order {
		m := s.messages[k]
		if m.Channel != call.Channel {
			continue
		}
		if thread == "" && m.ThreadTS != "" || thread != "" && m.TS != thread && m.ThreadTS != thread {
			continue
		}
		msg := map[string]any{"type": "message", "ts": m.TS, "text": m.Text}
		if m.ThreadTS != "" {
			msg["thread_ts"] = m.ThreadTS
		}
		if withMeta && m.Metadata.EventType != "" {
			msg["metadata"] = m.Metadata
		}
		out = append(out, msg)
	}
	s.mu.Unlock()
	if thread == "" {
		slices.Reverse(out)
	}
	writeOK(w, map[string]any{"messages": out, "has_more": false})
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
}

func (s *Server) userGroups(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.takeFailure("usergroups.list"); ok {
		fail(w, f)
		return
	}
	_ = r.ParseForm()
	s.mu.Lock()
	groups := append([]slackgo.UserGroup(nil), s.groups...)
	s.mu.Unlock()
	if r.PostForm.Get("include_users") != "true" {
		for i := range groups {
			groups[i].Users = nil
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "usergroups": groups})
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.t.Errorf("slackfake: response_url post with bad JSON: %v", err)
	}
	s.mu.Lock()
	s.responses = append(s.responses, Response{Path: strings.TrimPrefix(r.URL.Path, "/response/"), At: time.Now(), Body: body})
	s.mu.Unlock()
	_, _ = w.Write([]byte("ok"))
}

// Calls returns the calls of a method ("" for all), oldest first.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns every message as it stands, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.order))
	for _, k := range s.order {
		out = append(out, *s.messages[k])
	}
	return out
}

// Responses returns the response_url posts to a name ("" for all).
func (s *Server) Responses(name string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Response
	for _, r := range s.responses {
		if name == "" || r.Path == name {
			out = append(out, r)
		}
	}
	return out
}

// WaitFor polls cond until it holds or the timeout passes.
func (s *Server) WaitFor(timeout time.Duration, what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("slackfake: timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BlocksJSON renders blocks as JSON, for substring checks; <, > and & are
// left as they are.
func BlocksJSON(b slackgo.Blocks) string {
	data, _ := json.Marshal(b)
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(string(data))
}

// Buttons lists the action IDs of the buttons in blocks.
func Buttons(b slackgo.Blocks) []string {
	var out []string
	for _, bl := range b.BlockSet {
		ab, ok := bl.(*slackgo.ActionBlock)
		if !ok || ab.Elements == nil {
			continue
		}
		for _, el := range ab.Elements.ElementSet {
			if btn, ok := el.(*slackgo.ButtonBlockElement); ok {
				out = append(out, btn.ActionID)
			}
		}
	}
	return out
}
