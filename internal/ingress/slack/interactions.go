package slack

import (
	"context"
	"net/http"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// ServeInteraction answers the buttons of run messages. It answers 200 at
// once and never changes the message: the workflow updates it once the
// decision is in. Refusals and decisions that came too late are told to
// the clicker alone, through the response_url.
func (h *Handler) ServeInteraction(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.verified(w, r); !ok {
		return
	}
	ic, err := slackgo.InteractionCallbackParse(r)
	if err != nil {
		http.Error(w, "bad interaction payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	if ic.Type == slackgo.InteractionTypeBlockActions {
		for _, a := range ic.ActionCallback.BlockActions {
			h.blockAction(ic, a)
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) blockAction(ic slackgo.InteractionCallback, a *slackgo.BlockAction) {
	var approve bool
	switch a.ActionID {
	case slackmsg.ActionApprove:
		approve = true
	case slackmsg.ActionDeny:
	default:
		return
	}
	v, err := decodeValue(a.Value)
	if err != nil {
		h.log.Warn("slack: approval button with a bad value", "value", a.Value, "err", err)
		h.async("button", ic.ResponseURL, func(context.Context) reply {
			return reply{Text: "This button does not name a run and step; use `/firebreak approve <run-id> <step>`."}
		})
		return
	}
	user := ic.User.ID
	h.async(a.ActionID, ic.ResponseURL, func(ctx context.Context) reply {
		if err := h.authorize(ctx, user, ic.User.Name, access.RunsApprove); err != nil {
			return h.errorReply("decide "+v.Step, err)
		}
		req := runwire.ApprovalRequest{Step: v.Step, Approve: approve, By: user,
			Groups: h.groups.lookup(ctx, user), Source: runwire.SourceSlack}
		if _, err := h.runs.Approve(ctx, v.Run, req); err != nil {
			h.log.Info("slack approval not taken", "id", v.Run, "step", v.Step, "by", user, "approve", approve, "err", err)
			return h.errorReply("decide "+v.Step, err)
		}
		h.log.Info("approval decided from slack", "id", v.Run, "step", v.Step, "approve", approve, "by", user)
		return reply{}
	})
}
