package openaispec

// What openai-go shows only in prose and examples, kind of object by kind
// of object, each fact with the file of openai-go v3.98.0 that shows it
// (Load checks the quoted text is there). What openai-go's types and
// api.md say (the object's "object" and statuses, the endpoints, the data
// field holding the id) Load reads from the module itself. A quote with no
// file is from OpenAI's API reference (the OpenAPI document in
// openai/openai-openapi), which openai-go does not carry: named, never
// copied, and not checked here.

// quote is text that a file of the openai-go module shows; file "" is a
// source outside the module, named in text.
type quote struct{ file, text string }

// assumedIDField is the data field holding the object's id in events that
// openai-go has no Go type for, and why.
type assumedIDField struct{ field, why string }

// fact is what openai-go shows of one kind of object beyond its types.
type fact struct {
	// kind is the object's "object" field; Load checks it against the Go
	// type's constant. kindSource names it for an object with no Go type.
	kind, kindSource string
	// retrieve, accept and reject name openai-go methods that api.md lists;
	// outside is an endpoint openai-go has no method for.
	retrieve, accept, reject string
	outside                  Endpoint
	events                   []string
	// unionless says which data field holds the object's id in events
	// that openai-go has no Go type for, and why.
	unionless *assumedIDField
	// example is an id of the object (text) in a file of openai-go; when
	// openai-go shows none, madeUp says why example.text is made up.
	example quote
	madeUp  string
	// prefix starts the object's ids, as shown; "" with the quotes that
	// disagree, or none.
	prefix      string
	prefixShown []quote
	prefixNote  string
	// final and notFinal are the statuses OpenAI describes as the end, or
	// as left again; why says how, and finalShown where.
	final, notFinal []string
	why             string
	finalShown      []quote
}

const webhookGo = "webhooks/webhook.go"

// apiReference names OpenAI's API reference as a source.
func apiReference(what string) quote {
	return quote{text: "OpenAI's API reference (openai/openai-openapi, openapi.yaml): " + what}
}

var facts = []fact{
	{
		kind: "response", retrieve: "client.Responses.Get",
		events:  []string{"response.completed", "response.failed", "response.cancelled", "response.incomplete"},
		example: quote{"webhooks/webhook_test.go", "resp_123"},
		prefix:  "resp_",
		prefixShown: []quote{
			{"webhooks/webhook_test.go", `"data": {"id": "resp_123"}`},
			{"responses/response_test.go", `"resp_677efb5139a88190b512bc3fef8e535d"`},
		},
		final:    []string{"completed", "failed", "cancelled", "incomplete"},
		notFinal: []string{"queued", "in_progress"},
		why:      "response.* events announce the end of a background response; queued and in_progress come before it",
		finalShown: []quote{
			{webhookGo, "Sent when a background response has been completed."},
			{webhookGo, "Sent when a background response has failed."},
			{webhookGo, "Sent when a background response has been cancelled."},
			{webhookGo, "Sent when a background response has been interrupted."},
		},
	},
	{
		kind: "batch", retrieve: "client.Batches.Get",
		events:  []string{"batch.completed", "batch.failed", "batch.expired", "batch.cancelled"},
		example: quote{"batch_test.go", "batch_id"},
		prefix:  "batch_",
		prefixShown: []quote{
			apiReference("the Batch object's examples"),
		},
		prefixNote: `openai-go shows no batch id: TestBatchGet passes the placeholder "batch_id", and polling_test.go's batch_123 is a vector store file batch`,
		final:      []string{"completed", "failed", "expired", "cancelled"},
		notFinal:   []string{"validating", "in_progress", "finalizing", "cancelling"},
		why:        "batch.* events announce the end of a batch; the other statuses come before it",
		finalShown: []quote{
			{webhookGo, "Sent when a batch API request has been completed."},
			{webhookGo, "Sent when a batch API request has failed."},
			{webhookGo, "Sent when a batch API request has expired."},
			{webhookGo, "Sent when a batch API request has been cancelled."},
		},
	},
	{
		kind: "fine_tuning.job", retrieve: "client.FineTuning.Jobs.Get",
		events:  []string{"fine_tuning.job.succeeded", "fine_tuning.job.failed", "fine_tuning.job.cancelled"},
		example: quote{"finetuningjob_test.go", "ft-AF1WoRqd3aJAHsqc9NY7iL8F"},
		prefix:  "ftjob-",
		prefixShown: []quote{
			{"finetuningjob.go", `"openai/{ftjob-abcdef}"`},
			apiReference("the FineTuningJob object's examples"),
		},
		prefixNote: "TestFineTuningJobGet's ft-AF1WoRqd3aJAHsqc9NY7iL8F is the legacy form of the API reference's path parameter example",
		final:      []string{"succeeded", "failed", "cancelled"},
		notFinal:   []string{"validating_files", "queued", "running"},
		why:        "fine_tuning.job.* events announce the end of a job; the other statuses come before it",
		finalShown: []quote{
			{webhookGo, "Sent when a fine-tuning job has succeeded."},
			{webhookGo, "Sent when a fine-tuning job has failed."},
			{webhookGo, "Sent when a fine-tuning job has been cancelled."},
		},
	},
	{
		kind: "eval.run", kindSource: apiReference(`the EvalRun object, "Always \"eval.run\""`).text,
		outside: Endpoint{HTTPMethod: "GET", Path: "/evals/{eval_id}/runs/{run_id}",
			Source: apiReference("GET /evals/{eval_id}/runs/{run_id}; openai-go has no evals service").text},
		events:  []string{"eval.run.succeeded", "eval.run.failed", "eval.run.canceled"},
		example: quote{text: "evalrun_example"},
		madeUp:  "openai-go shows no eval run id: made of the API reference's prefix",
		prefix:  "evalrun_",
		prefixShown: []quote{
			apiReference("the EvalRun object's examples"),
		},
		why: "openai-go has no eval run type, and the API reference gives its status no enum: nothing is known",
	},
	{
		kind: "agent.environment", retrieve: "client.Beta.Agents.Environments.Get",
		events:  []string{"agent.environment.ready", "agent.environment.failed", "agent.environment.suspended", "agent.environment.expired"},
		example: quote{"webhooks/agent_webhook_contract_test.go", "env_1"},
		prefix:  "env_",
		prefixShown: []quote{
			{"webhooks/agent_webhook_contract_test.go", `"data":{"id":"env_1"}`},
			{"agents_environment_token_page_test.go", `"environment_id": "env_test"`},
		},
		final:    []string{"expired"},
		notFinal: []string{"ready", "suspended"},
		why:      "an expired environment can no longer resume; a suspended one can, and a ready one is then attached to a session; of pending, connected, disconnected and failed nothing is said",
		finalShown: []quote{
			{webhookGo, "Sent when an agent environment expires and can no longer resume from a snapshot."},
			{webhookGo, "Sent when an agent environment is suspended and can resume from a snapshot."},
			{webhookGo, "Sent when a prewarmed OpenAI-hosted environment finishes setup before being"},
		},
	},
	{
		kind: "agent.session", retrieve: "client.Beta.Agents.Sessions.Get",
		events:  []string{"agent.session.created", "agent.session.action_required", "agent.session.in_progress", "agent.session.idle", "agent.session.failed"},
		example: quote{"webhooks/agent_webhook_contract_test.go", "as_1"},
		prefixShown: []quote{
			{"webhooks/agent_webhook_contract_test.go", `{"id":"as_1","environment_type":"sandbox"`},
			{"lib/automations_transport_test.go", `"type":"existing_session","session_id":"sess_target"`},
		},
		prefixNote: "openai-go's examples disagree (as_1 in its webhook tests, sess_target as an automation's session): no prefix is published",
		why:        "openai-go does not say which session statuses are final",
	},
	{
		kind: "safety.alert", retrieve: "client.Safety.Alerts.Get",
		events:     []string{"safety.alert.created", "safety.org_alert.created"},
		example:    quote{"safetyalert_test.go", "id"},
		prefixNote: `openai-go shows no safety alert id: TestSafetyAlertGet passes the placeholder "id"`,
		why:        "a safety alert has no status",
	},
	{
		kind: "safety.case", retrieve: "client.Safety.Cases.Get",
		events:  []string{"safety.warning_issued", "safety.deactivation_issued"},
		example: quote{"webhooks/safety_events_test.go", "case_synthetic"},
		prefix:  "case_",
		prefixShown: []quote{
			{"webhooks/safety_events_test.go", `"data":{"id":"case_synthetic"}`},
		},
		why: "a safety case has no status",
	},
	{
		kind: "video", retrieve: "client.Videos.Get",
		events: []string{"video.completed", "video.failed"},
		unionless: &assumedIDField{field: "id", why: "openai-go lists video.* among the types an endpoint can subscribe to " +
			"(webhooks.WebhookTestParamsEventType) but has no Go type for them: data.id is assumed, as in the events of every other object"},
		example: quote{"video_test.go", "video_123"},
		prefix:  "video_",
		prefixShown: []quote{
			{"video_test.go", `"video_123"`},
			{"error_diagnostics_transport_test.go", `"video_synthetic"`},
		},
		final:    []string{"completed", "failed"},
		notFinal: []string{"queued", "in_progress"},
		why:      "video.completed and video.failed announce the end of a video; queued and in_progress come before it",
	},
	{
		kindSource: "OpenAI names no object for an incoming realtime call: its call_id is answered",
		accept:     "client.Realtime.Calls.Accept", reject: "client.Realtime.Calls.Reject",
		events:  []string{"realtime.call.incoming"},
		example: quote{"realtime/call_test.go", "call_id"},
		prefix:  "rtc_",
		prefixShown: []quote{
			{webhookGo, "uses a separate `rtc_...` call ID"},
		},
		why: "a call has no status",
	},
	{
		kindSource: "OpenAI names no object for an incoming Live session: its session_id is answered",
		accept:     "client.Live.Sessions.Accept", reject: "client.Live.Sessions.Reject",
		events:  []string{"live.transport.incoming", "live.call.incoming"},
		example: quote{"live/sideband_unknown_event_test.go", "live_test"},
		prefix:  "live_",
		prefixShown: []quote{
			{webhookGo, "The `live_...` ID of the pending SIP session"},
		},
		why: "a call has no status",
	},
}

// name names a fact in errors.
func (f fact) name() string {
	if f.kind != "" {
		return f.kind
	}
	return f.events[0]
}
