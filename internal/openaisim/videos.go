package openaisim

import "encoding/json"

// Videos: GET /v1/videos/{id}, objects that Seed puts in the state a
// video.* event announces.

// videoWire is an openai.Video.
type videoWire struct {
	ID                 string      `json:"id"`
	Object             string      `json:"object"`
	CreatedAt          int64       `json:"created_at"`
	CompletedAt        *int64      `json:"completed_at"`
	ExpiresAt          *int64      `json:"expires_at"`
	Status             string      `json:"status"`
	Progress           int64       `json:"progress"`
	Model              string      `json:"model"`
	Prompt             string      `json:"prompt"`
	Seconds            string      `json:"seconds"`
	Size               string      `json:"size"`
	RemixedFromVideoID *string     `json:"remixed_from_video_id"`
	Error              *videoError `json:"error"`
}

func (v *videoWire) wire() any { return v }

type videoError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// seedVideoLocked puts a video in the status eventType announces: completed,
// its assets downloadable for a day, or failed with an error.
func (s *Server) seedVideoLocked(id, eventType string) json.RawMessage {
	v := s.st.videos[id]
	if v == nil {
		v = &videoWire{
			ID: id, Object: "video", CreatedAt: s.now().Unix(), Model: "sora-2", Seconds: "8", Size: "1280x720",
			Prompt: "A paper boat drifting down a rain-soaked street at dusk, close-up, shallow depth of field.",
		}
		s.st.videos[id] = v
	}
	v.Status = eventStatus(kindVideo, eventType)
	v.CompletedAt, v.ExpiresAt, v.Error = nil, nil, nil
	switch v.Status {
	case "completed":
		now := s.now().Unix()
		v.Progress, v.CompletedAt, v.ExpiresAt = 100, ptr(now), ptr(now+24*3600)
	case "failed":
		v.Progress = 40
		v.Error = &videoError{Code: "moderation_blocked", Message: "The video could not be generated because the prompt or its result was blocked by moderation (simulated)."}
	}
	return mustJSON(v)
}
