package activities

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
	"go.temporal.io/sdk/activity"

	"github.com/hookbridge/hookbridge"
)

// retriever gets one kind of object by id with openai-go and maps it to a
// hookbridge.Object; raw is the object's JSON as OpenAI sent it.
type retriever func(ctx context.Context, c *openai.Client, id string) (o hookbridge.Object, raw string, err error)

// retrievers are the openai-go calls and mappings behind the Retrieve
// activity of each row of hookbridge.Kinds that is retrieved by id (eval
// runs also need their eval id: RetrieveEvalRun).
var retrievers = map[hookbridge.ObjectKind]retriever{
	hookbridge.ObjectResponse: get(func(ctx context.Context, c *openai.Client, id string) (*responses.Response, error) {
		return c.Responses.Get(ctx, id, responses.ResponseGetParams{})
	}, responseObject),
	hookbridge.ObjectBatch: get(func(ctx context.Context, c *openai.Client, id string) (*openai.Batch, error) {
		return c.Batches.Get(ctx, id)
	}, batchObject),
	hookbridge.ObjectFineTuningJob: get(func(ctx context.Context, c *openai.Client, id string) (*openai.FineTuningJob, error) {
		return c.FineTuning.Jobs.Get(ctx, id)
	}, jobObject),
	hookbridge.ObjectAgentEnvironment: get(func(ctx context.Context, c *openai.Client, id string) (*openai.EnvironmentInfo, error) {
		return c.Beta.Agents.Environments.Get(ctx, id)
	}, environmentObject),
	hookbridge.ObjectAgentSession: get(func(ctx context.Context, c *openai.Client, id string) (*openai.AgentSession, error) {
		return c.Beta.Agents.Sessions.Get(ctx, id)
	}, sessionObject),
	hookbridge.ObjectSafetyAlert: get(func(ctx context.Context, c *openai.Client, id string) (*openai.SafetyAlert, error) {
		return c.Safety.Alerts.Get(ctx, id)
	}, alertObject),
	hookbridge.ObjectSafetyCase: get(func(ctx context.Context, c *openai.Client, id string) (*openai.SafetyCase, error) {
		return c.Safety.Cases.Get(ctx, id)
	}, caseObject),
	hookbridge.ObjectVideo: get(func(ctx context.Context, c *openai.Client, id string) (*openai.Video, error) {
		//lint:ignore SA1019 OpenAI still sends video.* events until the Sora API shuts down.
		return c.Videos.Get(ctx, id)
	}, videoObject),
}

// get makes a retriever of an openai-go call and a mapping.
func get[T interface{ RawJSON() string }](call func(context.Context, *openai.Client, string) (*T, error), object func(*T) hookbridge.Object) retriever {
	return func(ctx context.Context, c *openai.Client, id string) (hookbridge.Object, string, error) {
		v, err := call(ctx, c, id)
		if err != nil {
			return hookbridge.Object{}, "", err
		}
		return object(v), (*v).RawJSON(), nil
	}
}

// Registry is where activities are registered: a worker, or a test
// environment.
type Registry interface {
	RegisterActivity(a any)
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Register registers every activity under the name the workflows run it
// by: the methods of a, the Retrieve activity of each row of
// hookbridge.Kinds, and the retired activities that histories of earlier
// releases still hold.
func Register(r Registry, a *Activities) {
	r.RegisterActivity(a)
	registerRetired(r)
	for k := range hookbridge.Kinds() {
		if get, ok := retrievers[k.Object]; ok {
			r.RegisterActivityWithOptions(a.retrieve(k.Object, get), activity.RegisterOptions{Name: k.Retrieve})
		}
	}
}

// retrieve is the activity that retrieves one kind of object by id, with
// its project's client. An object too large to inline is summarized (see
// inlined).
func (a *Activities) retrieve(kind hookbridge.ObjectKind, get retriever) func(context.Context, ObjectRef) (hookbridge.Object, error) {
	return func(ctx context.Context, ref ObjectRef) (hookbridge.Object, error) {
		c, err := a.client(ctx, ref.Project)
		if err != nil {
			return hookbridge.Object{}, err
		}
		o, raw, err := get(ctx, c, ref.ID)
		if err != nil {
			return hookbridge.Object{}, classify(ctx, fmt.Sprintf("retrieve %s %s", kind, ref.ID), err)
		}
		return a.inlined(ctx, withProject(o, ref.Project), raw)
	}
}

func responseObject(r *responses.Response) hookbridge.Object {
	o := hookbridge.Object{
		Type:             hookbridge.ObjectResponse,
		ID:               r.ID,
		Status:           string(r.Status),
		Metadata:         r.Metadata,
		OutputText:       r.OutputText(),
		IncompleteReason: r.IncompleteDetails.Reason,
	}
	if r.Error.Message != "" {
		o.Error = &hookbridge.ObjectError{Code: string(r.Error.Code), Message: r.Error.Message}
	}
	if r.JSON.Usage.Valid() {
		o.Usage = &hookbridge.Usage{InputTokens: r.Usage.InputTokens, OutputTokens: r.Usage.OutputTokens, TotalTokens: r.Usage.TotalTokens}
	}
	return o
}

func batchObject(b *openai.Batch) hookbridge.Object {
	o := hookbridge.Object{
		Type:          hookbridge.ObjectBatch,
		ID:            b.ID,
		Status:        string(b.Status),
		Metadata:      b.Metadata,
		OutputFileID:  b.OutputFileID,
		ErrorFileID:   b.ErrorFileID,
		RequestCounts: &hookbridge.RequestCounts{Total: b.RequestCounts.Total, Completed: b.RequestCounts.Completed, Failed: b.RequestCounts.Failed},
	}
	if len(b.Errors.Data) > 0 {
		o.Error = &hookbridge.ObjectError{Code: b.Errors.Data[0].Code, Message: b.Errors.Data[0].Message}
	}
	return o
}

func jobObject(j *openai.FineTuningJob) hookbridge.Object {
	o := hookbridge.Object{
		Type:           hookbridge.ObjectFineTuningJob,
		ID:             j.ID,
		Status:         string(j.Status),
		Metadata:       j.Metadata,
		FineTunedModel: j.FineTunedModel,
	}
	if j.Error.Message != "" {
		o.Error = &hookbridge.ObjectError{Code: j.Error.Code, Message: j.Error.Message}
	}
	return o
}

func environmentObject(e *openai.EnvironmentInfo) hookbridge.Object {
	return hookbridge.Object{Type: hookbridge.ObjectAgentEnvironment, ID: e.ID, Status: string(e.Status)}
}

func sessionObject(s *openai.AgentSession) hookbridge.Object {
	o := hookbridge.Object{
		Type:     hookbridge.ObjectAgentSession,
		ID:       s.ID,
		Status:   string(s.Status),
		Metadata: s.Metadata,
	}
	if s.Error != "" {
		o.Error = &hookbridge.ObjectError{Message: s.Error}
	}
	if len(s.RequiredActions) > 0 {
		o.RequiredActions = rawField(s.JSON.RequiredActions.Raw())
	}
	return o
}

func alertObject(a *openai.SafetyAlert) hookbridge.Object {
	return hookbridge.Object{
		Type:       hookbridge.ObjectSafetyAlert,
		ID:         a.ID,
		Category:   string(a.ErrorType),
		Reason:     a.Reason,
		Model:      a.Model,
		ResponseID: a.ResponseID,
	}
}

func caseObject(c *openai.SafetyCase) hookbridge.Object {
	return hookbridge.Object{
		Type:     hookbridge.ObjectSafetyCase,
		ID:       c.ID,
		Category: c.Notice.Type,
		Reason:   c.Reason,
		Entity:   c.EntityIdentifier,
	}
}

func videoObject(v *openai.Video) hookbridge.Object {
	o := hookbridge.Object{
		Type:     hookbridge.ObjectVideo,
		ID:       v.ID,
		Status:   string(v.Status),
		Model:    string(v.Model),
		Progress: v.Progress,
	}
	if v.Error.Message != "" {
		o.Error = &hookbridge.ObjectError{Code: v.Error.Code, Message: v.Error.Message}
	}
	return o
}

// rawField keeps a field's JSON as OpenAI sent it, when it is valid.
func rawField(raw string) json.RawMessage {
	if !json.Valid([]byte(raw)) {
		return nil
	}
	return json.RawMessage(raw)
}
