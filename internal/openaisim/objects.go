package openaisim

import (
	"slices"
	"strings"

	"github.com/hookbridge/hookbridge"
)

// The objects the simulator keeps, each holding its wire form (the JSON the
// REST API answers, with the field names of the openai-go types) plus what
// the simulator needs to move it along. They are guarded by Server.mu. Each
// resource's file holds its wire types, lifecycle, REST handlers and seeding;
// hookbridge.Kinds says which event types announce which kind, with the
// kind's id prefix, id field and terminal statuses.

// store holds every object by id, and the creation order of the listable ones.
type store struct {
	responses    map[string]*response
	files        map[string]*file
	batches      map[string]*batch
	jobs         map[string]*fineTuningJob
	evals        map[string]*eval
	runs         map[string]*evalRun
	environments map[string]*environmentWire
	sessions     map[string]*agentSessionWire
	alerts       map[string]*safetyAlertWire
	cases        map[string]*safetyCaseWire
	videos       map[string]*videoWire
	calls        map[string]*call
	endpoints    map[string]*webhookEndpoint

	// owner maps the id of every object to its project (see projects.go);
	// empty when Options.Projects is.
	owner map[string]string

	fileOrder     []string
	batchOrder    []string
	jobOrder      []string
	runOrder      []string
	callOrder     []string
	endpointOrder []string
}

func newStore() store {
	return store{
		responses:    make(map[string]*response),
		files:        make(map[string]*file),
		batches:      make(map[string]*batch),
		jobs:         make(map[string]*fineTuningJob),
		evals:        make(map[string]*eval),
		runs:         make(map[string]*evalRun),
		environments: make(map[string]*environmentWire),
		sessions:     make(map[string]*agentSessionWire),
		alerts:       make(map[string]*safetyAlertWire),
		cases:        make(map[string]*safetyCaseWire),
		videos:       make(map[string]*videoWire),
		calls:        make(map[string]*call),
		endpoints:    make(map[string]*webhookEndpoint),
		owner:        make(map[string]string),
	}
}

// kindOf returns the kind of the object with the id, or "" when none exists.
func (st *store) kindOf(id string) kind {
	switch {
	case st.responses[id] != nil:
		return kindResponse
	case st.files[id] != nil:
		return kindFile
	case st.batches[id] != nil:
		return kindBatch
	case st.jobs[id] != nil:
		return kindFineTuningJob
	case st.evals[id] != nil:
		return kindEval
	case st.runs[id] != nil:
		return kindEvalRun
	case st.environments[id] != nil:
		return kindAgentEnvironment
	case st.sessions[id] != nil:
		return kindAgentSession
	case st.alerts[id] != nil:
		return kindSafetyAlert
	case st.cases[id] != nil:
		return kindSafetyCase
	case st.videos[id] != nil:
		return kindVideo
	case st.calls[id] != nil:
		return st.calls[id].Kind
	case st.endpoints[id] != nil:
		return kindWebhookEndpoint
	}
	return ""
}

// kind names an object kind as in OpenAI's "object" field: those of
// hookbridge.Kinds, and files, evals and webhook endpoints, which no event
// announces.
type kind = hookbridge.ObjectKind

const (
	kindResponse         = hookbridge.ObjectResponse
	kindBatch            = hookbridge.ObjectBatch
	kindFineTuningJob    = hookbridge.ObjectFineTuningJob
	kindEvalRun          = hookbridge.ObjectEvalRun
	kindAgentEnvironment = hookbridge.ObjectAgentEnvironment
	kindAgentSession     = hookbridge.ObjectAgentSession
	kindSafetyAlert      = hookbridge.ObjectSafetyAlert
	kindSafetyCase       = hookbridge.ObjectSafetyCase
	kindVideo            = hookbridge.ObjectVideo
	kindRealtimeCall     = hookbridge.ObjectRealtimeCall
	kindLiveSession      = hookbridge.ObjectLiveSession

	kindFile            kind = "file"
	kindEval            kind = "eval"
	kindWebhookEndpoint kind = "webhook_endpoint"
)

// objectNames name the kinds in OpenAI's 404 answers.
var objectNames = map[kind]string{
	kindResponse: "response", kindFile: "file", kindBatch: "batch", kindFineTuningJob: "fine-tuning job",
	kindEval: "eval", kindEvalRun: "eval run", kindAgentEnvironment: "environment", kindAgentSession: "session",
	kindSafetyAlert: "safety alert", kindSafetyCase: "safety case", kindVideo: "video",
	kindWebhookEndpoint: "webhook endpoint",
}

// rowOf returns the row of hookbridge.Kinds about kind k.
func rowOf(k kind) (hookbridge.Kind, bool) {
	for row := range hookbridge.Kinds() {
		if row.Object == k {
			return row, true
		}
	}
	return hookbridge.Kind{}, false
}

// rowListing returns the row of hookbridge.Kinds that lists eventType
// itself; unlike hookbridge.KindOf, a new type of a known prefix is not
// enough, since the simulator cannot know the state it announces.
func rowListing(eventType string) (hookbridge.Kind, bool) {
	for row := range hookbridge.Kinds() {
		if slices.Contains(row.EventTypes(), eventType) {
			return row, true
		}
	}
	return hookbridge.Kind{}, false
}

// kindByPrefix guesses the kind of an id from its prefix, "" when unknown.
func kindByPrefix(id string) kind {
	for row := range hookbridge.Kinds() {
		if strings.HasPrefix(id, row.IDPrefix) {
			return row.Object
		}
	}
	switch {
	case strings.HasPrefix(id, "file-"):
		return kindFile
	case strings.HasPrefix(id, "eval_"):
		return kindEval
	}
	return ""
}

// isTerminal reports whether kind k never leaves status.
func isTerminal(k kind, status string) bool {
	return hookbridge.Object{Type: k, Status: status}.Terminal()
}

// newID returns a new id for an object of kind k: the table's prefix (an
// eval's "eval_") followed by random characters shaped like OpenAI's.
func (s *Server) newID(k kind) string {
	row, _ := rowOf(k)
	switch k {
	case kindResponse:
		return s.hexID(row.IDPrefix, 48)
	case kindFineTuningJob:
		return s.alnumID(row.IDPrefix, 24)
	case kindEval:
		return s.hexID("eval_", 32)
	}
	return s.hexID(row.IDPrefix, 32)
}

// claimNewIDLocked returns a new id for an object of kind k that belongs to
// project. The caller holds s.mu.
func (s *Server) claimNewIDLocked(project string, k kind) string {
	id := s.newID(k)
	s.claimLocked(project, id)
	return id
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// copyMetadata returns a copy of m, nil for nil.
func copyMetadata(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
