package slack

import (
	"context"
	"fmt"
	"net/http"

	slackgo "github.com/slack-go/slack"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/render/slackmsg"
	"github.com/firebreak-ops/firebreak/internal/runs"
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
	case slackmsg.ActionRetry:
		h.retryAction(ic, a)
		return
	default:
		return
	}
	v, ok := h.buttonValue(ic, a, "/firebreak approve <run-id> <step>")
	if !ok {
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

// retryAction answers a failed run's "Retry from <step>" button: the
// clicker needs runs.start and the runbook's spec.access.run. Two clicks
// are one retry (the request ID comes from the run and step).
func (h *Handler) retryAction(ic slackgo.InteractionCallback, a *slackgo.BlockAction) {
	v, ok := h.buttonValue(ic, a, "/firebreak retry <run> [step]")
	if !ok {
		return
	}
	user := ic.User.ID
	h.async(a.ActionID, ic.ResponseURL, func(ctx context.Context) reply {
		if err := h.authorize(ctx, user, ic.User.Name, access.RunsStart); err != nil {
			return h.errorReply("retry "+v.Run, err)
		}
		p := &access.Principal{ID: user, Name: ic.User.Name, Groups: h.groups.lookup(ctx, user), Source: runwire.SourceSlack}
		res, err := h.runs.Retry(ctx, v.Run, runs.RetryRequest{From: v.Step, By: user, Principal: p,
			Source: runwire.SourceSlack, Reason: "Retry button in Slack"})
		if err != nil {
			h.log.Info("slack retry not taken", "run", v.Run, "step", v.Step, "by", user, "err", err)
			return h.errorReply("retry "+v.Run, err)
		}
		h.log.Info("run retried from slack", "id", res.ID, "from", res.From, "by", user, "duplicate", res.Duplicate)
		return retryReply(res)
	})
}

// retryReply tells the clicker what a retry did.
func retryReply(res *runs.RetryResult) reply {
	if res.Duplicate {
		return reply{Text: fmt.Sprintf("%s was already retried from %s.", code(res.ID), code(res.From))}
	}
	return reply{Text: fmt.Sprintf("Retrying %s from %s; %s.", code(res.ID), code(res.From), res.Note)}
}

// buttonValue reads a button's run and step; a bad value is logged and
// answered with the command to use instead.
func (h *Handler) buttonValue(ic slackgo.InteractionCallback, a *slackgo.BlockAction, instead string) (slackmsg.ButtonValue, bool) {
	v, err := decodeValue(a.Value)
	if err != nil {
		h.log.Warn("slack: button with a bad value", "action", a.ActionID, "value", a.Value, "err", err)
		h.async("button", ic.ResponseURL, func(context.Context) reply {
			return reply{Text: "This button does not name a run and step; use `" + instead + "`."}
		})
		return v, false
	}
	return v, true
}
