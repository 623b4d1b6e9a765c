package activities

import (
	"context"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/live"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/realtime"

	"github.com/hookbridge/hookbridge"
)

// CallAnswer asks an Answer activity (see hookbridge.Kinds) to answer a
// pending call.
type CallAnswer struct {
	Project  string                  `json:"project,omitempty"`
	CallID   string                  `json:"call_id"`
	Decision hookbridge.CallDecision `json:"decision"`
}

// CallAnswered says when OpenAI took the answer.
type CallAnswered struct {
	At time.Time `json:"at"`
}

// AnswerRealtimeCall accepts or rejects a pending realtime call
// (realtime.call.incoming). The session configuration is sent as it is, so
// that every field OpenAI knows reaches it, whether or not openai-go does.
func (a *Activities) AnswerRealtimeCall(ctx context.Context, req CallAnswer) (CallAnswered, error) {
	c, err := a.client(ctx, req.Project)
	if err != nil {
		return CallAnswered{}, err
	}
	if len(req.Decision.Accept) > 0 {
		err = c.Realtime.Calls.Accept(ctx, req.CallID, realtime.CallAcceptParams{},
			option.WithRequestBody("application/json", []byte(req.Decision.Accept)))
	} else {
		err = c.Realtime.Calls.Reject(ctx, req.CallID, realtime.CallRejectParams{StatusCode: openai.Int(int64(req.Decision.RejectStatus()))})
	}
	return answered(ctx, req, err)
}

// AnswerLiveSession accepts or rejects a pending Live session
// (live.transport.incoming, live.call.incoming); an accept sends the
// session configuration as the request's "session".
func (a *Activities) AnswerLiveSession(ctx context.Context, req CallAnswer) (CallAnswered, error) {
	c, err := a.client(ctx, req.Project)
	if err != nil {
		return CallAnswered{}, err
	}
	if len(req.Decision.Accept) > 0 {
		body := append(append([]byte(`{"session":`), req.Decision.Accept...), '}')
		err = c.Live.Sessions.Accept(ctx, req.CallID, live.SessionAcceptParams{},
			option.WithRequestBody("application/json", body))
	} else {
		err = c.Live.Sessions.Reject(ctx, req.CallID, live.SessionRejectParams{StatusCode: int64(req.Decision.RejectStatus())})
	}
	return answered(ctx, req, err)
}

func answered(ctx context.Context, req CallAnswer, err error) (CallAnswered, error) {
	if err != nil {
		return CallAnswered{}, classify(ctx, req.Decision.String()+" call "+req.CallID, err)
	}
	return CallAnswered{At: time.Now()}, nil
}
