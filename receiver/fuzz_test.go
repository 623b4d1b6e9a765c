package receiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/receiver"
)

var verifyErrors = []error{
	receiver.ErrMissingHeader, receiver.ErrInvalidWebhookID, receiver.ErrInvalidTimestamp,
	receiver.ErrTimestampOutOfRange, receiver.ErrNoV1Signature, receiver.ErrSignatureMismatch,
	receiver.ErrMalformedSignature, receiver.ErrTooManySignatures,
}

func isOneOf(err error, sentinels ...error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzParseEvent: any body parses into a well-formed event or is refused
// with ErrInvalidEvent; it never panics.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(vectorBody))
	f.Add([]byte(`{"id":"evt_1","type":"realtime.call.incoming","data":{"call_id":"rtc_1","sip_headers":[]}}`))
	f.Add([]byte(`{"id":"evt_1","type":"x","data":null}`))
	f.Add([]byte(`{"id":"evt_1","type":"x","data":[1]}`))
	f.Add([]byte(`[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[`))
	f.Add([]byte("{\"id\":\"evt_\xff\",\"type\":\"x\"}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := receiver.ParseEvent("wh_1", body)
		if err != nil {
			if !errors.Is(err, receiver.ErrInvalidEvent) {
				t.Fatalf("error %v is not ErrInvalidEvent", err)
			}
			return
		}
		if ev.ID == "" || ev.Type == "" || len(ev.ID) > 256 || len(ev.Type) > 256 || len(ev.ObjectID) > 256 {
			t.Fatalf("accepted a malformed envelope: %+v", ev)
		}
		if !utf8.Valid(body) || !json.Valid(body) || !bytes.Equal(ev.Payload, body) {
			t.Fatalf("accepted a body that is not valid UTF-8 JSON, or changed it: %q", body)
		}
	})
}

// FuzzVerify: whatever the headers and body, Verify accepts only a delivery
// carrying the right signature, fails with one of its sentinels otherwise,
// and never panics.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(vectorBody), vectorID, strconv.Itoa(vectorTimestamp), vectorSignature)
	f.Add([]byte(vectorBody), vectorID, strconv.Itoa(vectorTimestamp), "v1a,"+vectorSignature[3:]+" v1,AAAA")
	f.Add([]byte(""), "", "", "")
	f.Add([]byte("x"), "wh\x00", "-1", "v1,"+strings.Repeat("A", 44))
	f.Add([]byte("x"), "wh_1", "99999999999999999999", "v1,=")
	v := receiver.NewVerifier([]string{vectorSecret}, 5*time.Minute, clockAt(vectorTimestamp))
	f.Fuzz(func(t *testing.T, body []byte, id, ts, sig string) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		err := v.Verify(body, h)
		if err != nil {
			if !isOneOf(err, verifyErrors...) {
				t.Fatalf("error %v is none of the sentinels", err)
			}
			return
		}
		sent, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil {
			t.Fatalf("accepted timestamp %q", ts)
		}
		want, _ := signing.Sign(vectorSecret, id, time.Unix(sent, 0), body)
		if !strings.Contains(" "+sig+" ", " "+want+" ") && !strings.HasPrefix(sig, want+" ") && sig != want {
			t.Fatalf("accepted signature %q, the right one is %q", sig, want)
		}
	})
}

// FuzzVerifySignaturesAndSecrets: any number of signatures, forged or
// genuine, in any order, against two secrets: at most one MAC per secret,
// none past the signature cap, and a delivery accepted exactly when it
// carries a genuine signature within the cap.
func FuzzVerifySignaturesAndSecrets(f *testing.F) {
	f.Add([]byte(vectorBody), uint16(1), uint16(0), true)
	f.Add([]byte(vectorBody), uint16(8), uint16(7), true)
	f.Add([]byte(vectorBody), uint16(9), uint16(3), true)
	f.Add([]byte("x"), uint16(1000), uint16(999), false)
	f.Add([]byte{}, uint16(0), uint16(0), false)
	f.Fuzz(func(t *testing.T, body []byte, n, genuineAt uint16, bySecond bool) {
		n %= 1400 // as many as the header limit holds
		v := receiver.NewVerifier([]string{vectorSecret, otherSecret}, 5*time.Minute, clockAt(vectorTimestamp))
		var macs atomic.Int64
		v.CountMACs(&macs)
		sigs := forgedSignatures(int(n))
		signer := vectorSecret
		if bySecond {
			signer = otherSecret
		}
		genuine := n > 0 && genuineAt < n
		if genuine {
			sigs[genuineAt], _ = signing.Sign(signer, vectorID, time.Unix(vectorTimestamp, 0), body)
		}
		h := headers(vectorID, vectorTimestamp)
		if n > 0 {
			h.Set("webhook-signature", strings.Join(sigs, " "))
		}
		err := v.Verify(body, h)
		switch {
		case n == 0:
			if !errors.Is(err, receiver.ErrMissingHeader) {
				t.Fatalf("no signature: %v", err)
			}
		case int(n) > receiver.MaxSignatures:
			if !errors.Is(err, receiver.ErrTooManySignatures) || macs.Load() != 0 {
				t.Fatalf("%d signatures: %v after %d MACs, want ErrTooManySignatures before any", n, err, macs.Load())
			}
		case genuine && err != nil, !genuine && !errors.Is(err, receiver.ErrSignatureMismatch):
			t.Fatalf("%d signatures, genuine %v: %v", n, genuine, err)
		}
		if macs.Load() > 2 {
			t.Fatalf("%d MACs for %d signatures and 2 secrets", macs.Load(), n)
		}
	})
}

// fakeTemporal counts starts and, like Temporal, refuses a workflow ID it
// has seen; the handler must start a workflow only for a verified delivery.
type fakeTemporal struct {
	client.Client
	starts atomic.Int32
	seen   sync.Map
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	f.starts.Add(1)
	if _, dup := f.seen.LoadOrStore(opts.ID, true); dup {
		return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("already started", "", "run")
	}
	return fakeRun{id: opts.ID}, nil
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string  { return r.id }
func (fakeRun) GetRunID() string { return "run" }

// FuzzHandler drives the whole HTTP handler with arbitrary methods, paths,
// headers and bodies, some validly signed: it answers one of the contract's
// statuses, never 5xx for bad input, and starts a workflow only for a
// delivery that verifies.
func FuzzHandler(f *testing.F) {
	f.Add("POST", "/webhook", vectorID, "", []byte(vectorBody), true)
	f.Add("POST", "/webhook", vectorID, "v1,Zm9yZ2Vk", []byte(vectorBody), false)
	f.Add("GET", "/webhook", "", "", []byte{}, false)
	f.Add("POST", "/webhook", strings.Repeat("w", 1001), "", []byte(vectorBody), true)
	f.Add("POST", "/webhook", "wh_\n1", "", []byte(`{"id":"e","type":"t"}`), true)
	f.Add("POST", "/webhook", "wh_1", "", []byte(`{"id":"e","type":"t","data":{"id":"`+strings.Repeat("x", 300)+`"}}`), true)
	f.Add("PUT", "/nope", "wh_1", "", []byte("{}"), false)
	verifier := receiver.NewVerifier([]string{vectorSecret}, 5*time.Minute, clockAt(vectorTimestamp))
	f.Fuzz(func(t *testing.T, method, path, id, sig string, body []byte, sign bool) {
		if _, err := url.ParseRequestURI(path); err != nil || !strings.HasPrefix(path, "/") || strings.ContainsAny(path, " ?#%") || !validMethod(method) {
			return // not an HTTP request a server could receive
		}
		fake := &fakeTemporal{}
		h, err := receiver.New(fake, receiver.Options{Projects: map[string]*receiver.Verifier{"": verifier}, MaxBodyBytes: 4 << 10})
		if err != nil {
			t.Fatal(err)
		}
		ts := strconv.Itoa(vectorTimestamp)
		if sign {
			good, _ := signing.Sign(vectorSecret, id, time.Unix(vectorTimestamp, 0), body)
			sig = strings.TrimSpace(sig + " " + good)
		}
		r := httptest.NewRequest(method, "http://receiver"+path, bytes.NewReader(body))
		for name, value := range map[string]string{"webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig} {
			if validHeaderValue(value) {
				r.Header.Set(name, value)
			}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch {
		case w.Code == 200, w.Code == 400, w.Code == 404, w.Code == 405, w.Code == 413:
		default: // never a 3xx: OpenAI does not follow redirects

			t.Fatalf("status %d for %s %s", w.Code, method, path)
		}
		verified := verifier.Verify(body, r.Header) == nil
		if fake.starts.Load() > 0 && (!verified || method != http.MethodPost || path != "/webhook") {
			t.Fatalf("started a workflow for an unverified delivery (%s %s, signature %q)", method, path, sig)
		}
		if w.Code == 200 && fake.starts.Load() != 1 {
			t.Fatalf("answered 200 without starting a workflow")
		}
	})
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
