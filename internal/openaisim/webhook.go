package openaisim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/hookbridge/hookbridge"
	"github.com/hookbridge/hookbridge/internal/signing"
)

// The webhook sender delivers events the way OpenAI does: Standard Webhooks
// headers, a webhook-id that stays the same on every retry of an event, a
// webhook-timestamp and signature fresh on every attempt, and exponential
// backoff for up to RetryFor. Only a 2xx answer within AckTimeout is a
// success: redirects are not followed, and 3xx, 4xx, 5xx, network errors and
// timeouts are all retried. (OpenAI does not document a 4xx exception; a
// receiver that answers 400 to a bad delivery keeps getting it until the
// retry window closes, which is also what Standard Webhooks senders do.)

// UserAgent is the user-agent of every delivery, as OpenAI sends it.
const UserAgent = "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"

// maxAckBody is how much of a receiver's answer is read before closing it.
const maxAckBody = 64 << 10

// DeliveryState is where a delivery stands.
type DeliveryState string

// The states of a delivery.
const (
	// DeliveryPending: not yet acknowledged, attempts continue (or the
	// Server closed before they could).
	DeliveryPending DeliveryState = "pending"
	// DeliveryDelivered: an attempt got a 2xx answer within AckTimeout.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryGaveUp: RetryFor passed without a successful attempt.
	DeliveryGaveUp DeliveryState = "gave_up"
)

// Attempt is one POST of a delivery.
type Attempt struct {
	// At is the attempt's webhook-timestamp, on the simulator's clock.
	At time.Time `json:"at"`
	// StatusCode is the receiver's answer, 0 when there was none.
	StatusCode int `json:"status_code,omitempty"`
	// Error describes a network error or timeout; empty when the receiver answered.
	Error string `json:"error,omitempty"`
	// Duration is how long the attempt took, in real time.
	Duration time.Duration `json:"duration"`
}

// Delivery is one delivery of an event to one destination: its identity,
// its attempts and its state. An event goes to every destination of its
// project (Options.WebhookURL, webhook endpoints), one delivery each, all
// with the same WebhookID and EventID. An event delivered twice
// (Options.DuplicateRate) has two deliveries to each destination, the
// second marked Duplicate.
type Delivery struct {
	WebhookID string `json:"webhook_id"`
	EventID   string `json:"event_id"`
	Type      string `json:"type"`
	ObjectID  string `json:"object_id"`
	// Project is the event's project, "" for the default project.
	Project string `json:"project,omitempty"`
	// Endpoint is the webhook endpoint delivered to, "" for Options.WebhookURL.
	Endpoint string `json:"endpoint,omitempty"`
	// Test marks the one-attempt delivery of an endpoint's test event.
	Test bool `json:"test,omitempty"`
	// CreatedAt is the event's created_at, in Unix seconds.
	CreatedAt int64 `json:"created_at"`
	// Body is the signed request body, the same on every attempt.
	Body json.RawMessage `json:"body"`
	// Duplicate marks the extra delivery of a duplicated event.
	Duplicate bool `json:"duplicate,omitempty"`
	// Reordered marks an event whose first attempt was held back by ReorderDelay.
	Reordered bool          `json:"reordered,omitempty"`
	State     DeliveryState `json:"state"`
	Attempts  []Attempt     `json:"attempts"`
}

func (d *Delivery) clone() Delivery {
	c := *d
	c.Attempts = append([]Attempt(nil), d.Attempts...)
	return c
}

type sender struct {
	s         *Server
	url       string
	secret    string
	secretErr error
	client    *http.Client
	own       *http.Transport // ours to close; nil with Options.Transport
	sem       chan struct{}
	ctx       context.Context // cancelled by close: aborts waits and attempts
	cancel    context.CancelFunc
	wg        sync.WaitGroup // one per delivery goroutine

	mu      sync.Mutex
	closed  bool
	all     []*Delivery
	pending int
	changed chan struct{} // closed and replaced whenever pending or closed changes
}

func newSender(s *Server) *sender {
	o := s.opts
	h := &sender{
		s:       s,
		url:     o.WebhookURL,
		secret:  o.WebhookSecret,
		sem:     make(chan struct{}, o.Concurrency),
		changed: make(chan struct{}),
	}
	if o.WebhookURL != "" {
		if _, err := signing.DecodeSecret(o.WebhookSecret); err != nil {
			h.secretErr = fmt.Errorf("openaisim: webhook secret: %w", err)
		}
	}
	rt := o.Transport
	if rt == nil {
		h.own = http.DefaultTransport.(*http.Transport).Clone()
		rt = h.own
	}
	h.client = &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// Emit delivers an event of eventType about objectID to the destinations of
// the default project that take it: Options.WebhookURL, and its webhook
// endpoints subscribed to the type (ErrNoWebhookURL when there are none),
// whether or not the object exists (like OpenAI's dashboard test events).
// objectID "" seeds a matching object first when the type has one (see
// Seed), or else generates an id with the prefix hookbridge.Kinds gives the
// type. The incoming-call types make a pending call instead, with objectID
// or a new id, that can be answered for Options.CallLifetime (see
// IncomingCall). Emit returns the new delivery, still pending (the first
// one when several destinations take the event); follow it with Deliveries
// or WaitIdle.
func (s *Server) Emit(eventType, objectID string) (Delivery, error) {
	return s.EmitIn("", eventType, objectID)
}

// EmitIn is Emit in a project of Options.Projects ("" is the default
// project): the event goes to that project's webhook endpoints, and an
// object or call it makes belongs to it. A project not listed returns
// ErrUnknownProject.
func (s *Server) EmitIn(project, eventType, objectID string) (Delivery, error) {
	if eventType == "" {
		return Delivery{}, fmt.Errorf("%w: empty", ErrUnknownEventType)
	}
	if err := s.checkProject(project); err != nil {
		return Delivery{}, err
	}
	if _, err := s.hooks.targets(project, eventType); err != nil {
		return Delivery{}, err
	}
	row, listed := rowListing(eventType)
	switch {
	case listed && row.Answer != "":
		return s.emitCall(project, row, eventType, objectID)
	case objectID == "" && listed && seeders[row.Object] != nil:
		obj, err := s.SeedIn(project, eventType, "")
		if err != nil {
			return Delivery{}, err
		}
		var o struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(obj.(json.RawMessage), &o)
		objectID = o.ID
	case objectID == "":
		prefix := "obj_"
		if row, ok := hookbridge.KindOf(eventType); ok {
			prefix = row.IDPrefix
		}
		objectID = s.hexID(prefix, 32)
	}
	return s.hooks.emit(project, eventType, objectID, s.eventData(eventType, objectID))
}

// eventData returns the data of an event about id: the id, in the field
// hookbridge.Kinds names for the type, and the other fields openai-go
// requires of agent.session.* events. The caller does not hold s.mu.
func (s *Server) eventData(eventType, id string) map[string]any {
	row, ok := hookbridge.KindOf(eventType)
	if !ok {
		return map[string]any{"id": id}
	}
	data := map[string]any{row.IDField: id}
	if row.Object == kindAgentSession {
		s.mu.Lock()
		s.sessionEventDataLocked(eventType, id, data)
		s.mu.Unlock()
	}
	return data
}

// Deliveries returns a copy of every delivery so far, in emission order.
func (s *Server) Deliveries() []Delivery {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Delivery, len(h.all))
	for i, d := range h.all {
		out[i] = d.clone()
	}
	return out
}

// Stats counts the deliveries (a duplicated event counts twice) by state.
func (s *Server) Stats() (emitted, delivered, pending, gaveUp int) {
	h := s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.all {
		switch d.State {
		case DeliveryDelivered:
			delivered++
		case DeliveryGaveUp:
			gaveUp++
		}
	}
	return len(h.all), delivered, h.pending, gaveUp
}

// WaitIdle returns nil once no delivery is pending or in flight, ctx's error
// if it ends first, or ErrClosed when the Server closes with deliveries
// still pending. Objects still running their lifecycle are not waited for.
func (s *Server) WaitIdle(ctx context.Context) error {
	h := s.hooks
	for {
		h.mu.Lock()
		pending, closed, changed := h.pending, h.closed, h.changed
		h.mu.Unlock()
		switch {
		case pending == 0:
			return nil
		case closed:
			return fmt.Errorf("%w with %d deliveries pending", ErrClosed, pending)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// targets returns the destinations of an event of the project: "" for
// Options.WebhookURL (default project only), then the ids of the project's
// webhook endpoints subscribed to eventType. It reports why the sender
// cannot emit it, if it cannot.
func (h *sender) targets(project, eventType string) ([]string, error) {
	var targets []string
	if project == "" && h.url != "" {
		targets = append(targets, "")
	}
	s := h.s
	s.mu.Lock()
	for _, id := range s.st.endpointOrder {
		if s.visibleLocked(project, id) && slices.Contains(s.st.endpoints[id].w.EventTypes, eventType) {
			targets = append(targets, id)
		}
	}
	s.mu.Unlock()
	switch {
	case len(targets) == 0:
		return nil, ErrNoWebhookURL
	case targets[0] == "" && h.secretErr != nil:
		return nil, h.secretErr
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	return targets, nil
}

// newDelivery returns a pending delivery of a new event with the data.
func (h *sender) newDelivery(project, eventType, objectID string, data any) *Delivery {
	s := h.s
	created := s.now().Unix()
	d := &Delivery{
		WebhookID: s.hexID("wh_", 32),
		EventID:   s.hexID("evt_", 32),
		Type:      eventType,
		ObjectID:  objectID,
		Project:   project,
		CreatedAt: created,
		State:     DeliveryPending,
	}
	d.Body = mustJSON(struct {
		ID        string `json:"id"`
		Object    string `json:"object"`
		CreatedAt int64  `json:"created_at"`
		Type      string `json:"type"`
		Data      any    `json:"data"`
	}{d.EventID, "event", created, eventType, data})
	return d
}

// emit records an event of the project with the data and starts
// delivering it to each of its destinations; it returns the first delivery.
func (h *sender) emit(project, eventType, objectID string, data any) (Delivery, error) {
	targets, err := h.targets(project, eventType)
	if err != nil {
		return Delivery{}, err
	}
	s := h.s
	d := h.newDelivery(project, eventType, objectID, data)
	duplicate := s.opts.DuplicateRate > 0 && s.randFloat() < s.opts.DuplicateRate
	var hold time.Duration
	if s.opts.ReorderRate > 0 && s.randFloat() < s.opts.ReorderRate {
		d.Reordered, hold = true, s.opts.ReorderDelay
	}

	deliveries := make([]*Delivery, len(targets))
	for i, target := range targets {
		deliveries[i] = ptr(*d)
		deliveries[i].Endpoint = target
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range deliveries {
		if !h.startLocked(d, hold, duplicate) {
			return Delivery{}, ErrClosed
		}
	}
	s.log.Debug("openaisim: event emitted", "type", eventType, "object_id", objectID, "webhook_id", d.WebhookID, "event_id", d.EventID, "destinations", len(targets))
	return deliveries[0].clone(), nil
}

// test makes one attempt to deliver a test event to an endpoint, at once,
// and records it as a finished delivery.
func (h *sender) test(project, endpoint, eventType, objectID string, data any) (Delivery, error) {
	d := h.newDelivery(project, eventType, objectID, data)
	d.Endpoint, d.Test = endpoint, true
	a, gone := h.attempt(d)
	d.Attempts, d.State = []Attempt{a}, DeliveryGaveUp
	if a.Error == "" && a.StatusCode/100 == 2 {
		d.State = DeliveryDelivered
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return Delivery{}, ErrClosed
	case gone:
		return Delivery{}, fmt.Errorf("%w: %s", ErrUnknownEndpoint, endpoint)
	}
	h.all = append(h.all, d)
	return d.clone(), nil
}

// startLocked records a pending delivery and starts its goroutine, unless
// the sender is closed. The caller holds h.mu.
func (h *sender) startLocked(d *Delivery, hold time.Duration, duplicate bool) bool {
	if h.closed {
		return false
	}
	h.all = append(h.all, d)
	h.pending++
	h.notifyLocked()
	h.wg.Add(1)
	go h.run(d, hold, duplicate, time.Now())
	return true
}

func (h *sender) notifyLocked() {
	close(h.changed)
	h.changed = make(chan struct{})
}

// run makes the attempts of one delivery until one succeeds, the retry
// window closes, or the sender closes (the delivery then stays pending).
func (h *sender) run(d *Delivery, delay time.Duration, duplicate bool, emitted time.Time) {
	defer h.wg.Done()
	log := h.s.log.With("webhook_id", d.WebhookID, "type", d.Type, "object_id", d.ObjectID)
	for attempt := 1; ; attempt++ {
		if !h.wait(delay) {
			return
		}
		select {
		case h.sem <- struct{}{}:
		case <-h.ctx.Done():
			return
		}
		a, gone := h.attempt(d)
		<-h.sem
		if h.ctx.Err() != nil {
			return // closed mid-attempt: the attempt does not count
		}

		h.mu.Lock()
		if gone {
			d.State = DeliveryGaveUp
			h.pending--
			h.notifyLocked()
			h.mu.Unlock()
			log.Debug("openaisim: webhook endpoint deleted, delivery ends", "endpoint", d.Endpoint)
			return
		}
		d.Attempts = append(d.Attempts, a)
		if a.Error == "" && a.StatusCode >= 200 && a.StatusCode < 300 {
			d.State = DeliveryDelivered
			h.pending--
			if duplicate {
				dup := *d
				dup.Duplicate, dup.Reordered, dup.State, dup.Attempts = true, false, DeliveryPending, nil
				h.startLocked(&dup, 0, false)
			}
			h.notifyLocked()
			h.mu.Unlock()
			log.Debug("openaisim: webhook delivered", "attempts", attempt, "duplicate", d.Duplicate)
			return
		}
		delay = h.backoff(attempt)
		if time.Since(emitted)+delay > h.s.opts.RetryFor {
			d.State = DeliveryGaveUp
			h.pending--
			h.notifyLocked()
			h.mu.Unlock()
			log.Warn("openaisim: webhook delivery gave up", "attempts", attempt, "last_status", a.StatusCode, "last_error", a.Error)
			return
		}
		h.mu.Unlock()
		log.Debug("openaisim: webhook attempt failed", "attempt", attempt, "status", a.StatusCode, "error", a.Error, "retry_in", delay)
	}
}

// wait sleeps d unless the sender closes; it reports whether to go on.
func (h *sender) wait(d time.Duration) bool {
	if d <= 0 {
		return h.ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-h.ctx.Done():
		return false
	}
}

// backoff returns the delay after failed attempt n: RetryBase*2^(n-1),
// jittered by ±20%, capped at RetryCap.
func (h *sender) backoff(n int) time.Duration {
	o := h.s.opts
	d := float64(o.RetryBase) * math.Pow(2, float64(n-1))
	d *= 0.8 + 0.4*h.s.randFloat()
	if d >= float64(o.RetryCap) {
		return o.RetryCap
	}
	return time.Duration(d)
}

// attempt POSTs the delivery once to its destination's current URL,
// signed for this attempt's timestamp with the destination's current
// secrets. It reports gone, without an attempt, when the destination is a
// deleted endpoint.
func (h *sender) attempt(d *Delivery) (a Attempt, gone bool) {
	at := h.s.now()
	a = Attempt{At: at}
	url, secrets := h.url, []string{h.secret}
	if d.Endpoint != "" {
		var ok bool
		if url, secrets, ok = h.s.endpointTarget(d.Endpoint); !ok {
			return a, true
		}
	}
	headers, err := signing.HeadersFor(secrets, d.WebhookID, at, d.Body)
	if err != nil { // checked at emit; kept for safety
		a.Error = err.Error()
		return a, false
	}
	timeout := h.s.opts.AckTimeout
	// The attempt is timed from its deadline's start, so that one that
	// timed out took at least the timeout.
	start := time.Now()
	ctx, cancel := context.WithDeadline(h.ctx, start.Add(timeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.Body))
	if err != nil {
		a.Error = err.Error()
		return a, false
	}
	for k, v := range headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)

	resp, err := h.client.Do(req)
	if err == nil {
		a.StatusCode = resp.StatusCode
		_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAckBody))
		_ = resp.Body.Close()
	}
	a.Duration = time.Since(start)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			a.Error = fmt.Sprintf("no answer within the ack timeout of %s", timeout)
		} else {
			a.Error = err.Error()
		}
	}
	return a, false
}

// attemptsFor appends to each call the attempts of its deliveries.
func (h *sender) attemptsFor(calls []Call) {
	index := make(map[string]int, len(calls))
	for i, c := range calls {
		if c.WebhookID != "" {
			index[c.WebhookID] = i
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, d := range h.all {
		if i, ok := index[d.WebhookID]; ok {
			calls[i].Attempts = append(calls[i].Attempts, d.Attempts...)
		}
	}
}

// close stops the deliveries and waits for their goroutines.
func (h *sender) close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	h.notifyLocked()
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	if h.own != nil {
		h.own.CloseIdleConnections()
	}
}
