package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack/slacktest"
)

// BotUserID is who auth.test says the app is (slacktest's answer), and
// the creator of the channels the app creates.
const BotUserID = "W012A3CDE"

// Channel is a channel created through conversations.create (or
// AddChannel), with who was invited and what was pinned.
type Channel struct {
	ID      string
	Name    string
	Topic   string
	Creator string
	Created time.Time
	Members []string
	// Pins are the timestamps of pinned messages.
	Pins []string
}

// channels is the fake's channel state; it lives beside the message state
// and shares its lock.
type channels struct {
	byID  map[string]*Channel
	order []string
}

// handleChannels adds conversations.create, .invite, .list, .setTopic and
// pins.add, which slacktest answers with fixed bodies, so tests see what
// was created, who was invited and what was pinned.
func (s *Server) handleChannels(c slacktest.Customize) {
	c.Handle("/conversations.create", s.createChannel)
	c.Handle("/conversations.invite", s.invite)
	c.Handle("/conversations.list", s.listChannels)
	c.Handle("/conversations.setTopic", s.setTopic)
	c.Handle("/pins.add", s.addPin)
}

func (s *Server) chans() *channels {
	if s.channelState == nil {
		s.channelState = &channels{byID: map[string]*Channel{}}
	}
	return s.channelState
}

func writeOK(w http.ResponseWriter, body map[string]any) {
	body["ok"] = true
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func channelJSON(ch *Channel) map[string]any {
	return map[string]any{"id": ch.ID, "name": ch.Name, "is_channel": true, "created": ch.Created.Unix(), "creator": ch.Creator,
		"topic": map[string]any{"value": ch.Topic}, "num_members": len(ch.Members)}
}

// AddChannel adds a channel someone else created, as if it had been there
// before; it returns its ID.
func (s *Server) AddChannel(name, creator string, created time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	ch := &Channel{ID: fmt.Sprintf("C%08d", s.seq), Name: name, Creator: creator, Created: created}
	s.chans().byID[ch.ID] = ch
	s.chans().order = append(s.chans().order, ch.ID)
	return ch.ID
}

// form reads a Web API call's form and records the call.
func (s *Server) form(method string, r *http.Request) (Call, bool, Failure) {
	_ = r.ParseForm()
	call := Call{Method: method, At: time.Now(), Token: token(r, r.PostForm), Channel: r.PostForm.Get("channel"),
		TS: r.PostForm.Get("timestamp"), Text: r.PostForm.Get("name") + r.PostForm.Get("users") + r.PostForm.Get("topic")}
	f, failed := s.takeFailure(method)
	call.Failed = failed
	s.record(call)
	return call, failed, f
}

func (s *Server) createChannel(w http.ResponseWriter, r *http.Request) {
	_, failed, f := s.form("conversations.create", r)
	if failed && !f.Applied {
		fail(w, f)
		return
	}
	name := r.PostForm.Get("name")
	s.mu.Lock()
	cs := s.chans()
	for _, id := range cs.order {
		if cs.byID[id].Name == name {
			s.mu.Unlock()
			fail(w, Failure{Error: "name_taken"})
			return
		}
	}
	s.seq++
	ch := &Channel{ID: fmt.Sprintf("C%08d", s.seq), Name: name, Creator: BotUserID, Created: time.Now()}
	cs.byID[ch.ID] = ch
	cs.order = append(cs.order, ch.ID)
	body := channelJSON(ch)
	s.mu.Unlock()
	if failed {
		fail(w, f)
		return
	}
	writeOK(w, map[string]any{"channel": body})
}

func (s *Server) invite(w http.ResponseWriter, r *http.Request) {
	call, failed, f := s.form("conversations.invite", r)
	if failed {
		fail(w, f)
		return
	}
	s.mu.Lock()
	ch := s.chans().byID[call.Channel]
	if ch == nil {
		s.mu.Unlock()
		fail(w, Failure{Error: "channel_not_found"})
		return
	}
	for _, u := range strings.Split(r.PostForm.Get("users"), ",") {
		if strings.HasPrefix(u, "UNKNOWN") {
			s.mu.Unlock()
			fail(w, Failure{Error: "user_not_found"})
			return
		}
		if u != "" && slices.Contains(ch.Members, u) {
			s.mu.Unlock()
			fail(w, Failure{Error: "already_in_channel"})
			return
		}
		if u != "" {
			ch.Members = append(ch.Members, u)
		}
	}
	body := channelJSON(ch)
	s.mu.Unlock()
	writeOK(w, map[string]any{"channel": body})
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	if _, failed, f := s.form("conversations.list", r); failed {
		fail(w, f)
		return
	}
	s.mu.Lock()
	var out []map[string]any
	for _, id := range s.chans().order {
		out = append(out, channelJSON(s.chans().byID[id]))
	}
	s.mu.Unlock()
	writeOK(w, map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": ""}})
}

func (s *Server) setTopic(w http.ResponseWriter, r *http.Request) {
	call, failed, f := s.form("conversations.setTopic", r)
	if failed {
		fail(w, f)
		return
	}
	s.mu.Lock()
	ch := s.chans().byID[call.Channel]
	if ch == nil {
		s.mu.Unlock()
		fail(w, Failure{Error: "channel_not_found"})
		return
	}
	ch.Topic = r.PostForm.Get("topic")
	body := channelJSON(ch)
	s.mu.Unlock()
	writeOK(w, map[string]any{"channel": body})
}

func (s *Server) addPin(w http.ResponseWriter, r *http.Request) {
	call, failed, f := s.form("pins.add", r)
	if failed {
		fail(w, f)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chans().byID[call.Channel]
	if ch == nil || s.messages[call.Channel+"/"+call.TS] == nil {
		fail(w, Failure{Error: "message_not_found"})
		return
	}
	if slices.Contains(ch.Pins, call.TS) {
		fail(w, Failure{Error: "already_pinned"})
		return
	}
	ch.Pins = append(ch.Pins, call.TS)
	writeOK(w, map[string]any{})
}

// Channels returns the channels created, oldest first.
func (s *Server) Channels() []Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Channel
	for _, id := range s.chans().order {
		ch := *s.chans().byID[id]
		ch.Members = slices.Clone(ch.Members)
		ch.Pins = slices.Clone(ch.Pins)
		out = append(out, ch)
	}
	return out
}

// Message returns a message as it stands now, if it exists.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messages[channel+"/"+ts]
	if m == nil {
		return Message{}, false
	}
	return *m, true
}
