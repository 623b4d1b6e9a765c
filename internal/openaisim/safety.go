package openaisim

import "encoding/json"

// Safety alerts and cases: GET /v1/safety/alerts/{id} and
// /v1/safety/cases/{id}, objects that Seed makes of the category a safety.*
// event announces.

// safetyAlertWire is an openai.SafetyAlert.
type safetyAlertWire struct {
	ID                  string  `json:"id"`
	Object              string  `json:"object"`
	CreatedAt           int64   `json:"created_at"`
	ErrorType           string  `json:"error_type"`
	Reason              string  `json:"reason"`
	Model               string  `json:"model"`
	RequestID           string  `json:"request_id"`
	ResponseID          string  `json:"response_id"`
	RequestPaused       bool    `json:"request_paused"`
	DetailedExplanation *string `json:"detailed_explanation,omitempty"`
}

func (a *safetyAlertWire) wire() any { return a }

// alertCategories are the alerts each event type announces: a project's
// alert about a request it made, and an organization's alert, approved for
// its enterprise workspace.
var alertCategories = map[string]struct {
	errorType, reason string
	paused            bool
}{
	"safety.alert.created": {"potentially_unintended_destructive_activity",
		"The model attempted an action that could delete or overwrite data without a clear instruction to do so.", true},
	"safety.org_alert.created": {"potentially_unintended_data_transfer",
		"The model attempted to send data to a destination the user did not ask for.", false},
}

// seedAlertLocked makes an alert of the category eventType announces, about
// a response of the project.
func (s *Server) seedAlertLocked(id, eventType string) json.RawMessage {
	a := s.st.alerts[id]
	if a == nil {
		a = &safetyAlertWire{
			ID: id, Object: "safety.alert", CreatedAt: s.now().Unix(), Model: "gpt-5",
			RequestID: s.hexID("req_", 32), ResponseID: s.newID(kindResponse),
		}
		s.st.alerts[id] = a
	}
	c := alertCategories[eventType]
	a.ErrorType, a.Reason, a.RequestPaused = c.errorType, c.reason, c.paused
	return mustJSON(a)
}

// safetyCaseWire is an openai.SafetyCase.
type safetyCaseWire struct {
	ID               string `json:"id"`
	Object           string `json:"object"`
	CreatedAt        int64  `json:"created_at"`
	EntityIdentifier string `json:"entity_identifier"`
	Notice           struct {
		Type string `json:"type"`
	} `json:"notice"`
	Reason string `json:"reason"`
}

func (c *safetyCaseWire) wire() any { return c }

// caseNotices are the notice type and reason of the case each event type
// announces.
var caseNotices = map[string]struct{ notice, reason string }{
	"safety.warning_issued": {"warning",
		"Requests from this safety identifier repeatedly violated the usage policies on harassment. Further violations may lead to deactivation."},
	"safety.deactivation_issued": {"deactivation",
		"Requests from this safety identifier continued to violate the usage policies after a warning; it can no longer make requests."},
}

// seedCaseLocked makes a case with the notice eventType announces, about
// one of the organization's safety identifiers.
func (s *Server) seedCaseLocked(id, eventType string) json.RawMessage {
	c := s.st.cases[id]
	if c == nil {
		c = &safetyCaseWire{ID: id, Object: "safety.case", CreatedAt: s.now().Unix(), EntityIdentifier: s.hexID("sid_", 64)}
		s.st.cases[id] = c
	}
	n := caseNotices[eventType]
	c.Notice.Type, c.Reason = n.notice, n.reason
	return mustJSON(c)
}
