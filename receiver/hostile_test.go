package receiver_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/signing"
	"github.com/hookbridge/hookbridge/receiver"
)

// hostileServer serves the receiver over loopback with the production
// server settings, a fake Temporal and a clock fixed at testNow.
func hostileServer(t *testing.T, tweak func(*http.Server)) (string, *fakeTemporal) {
	t.Helper()
	fake := &fakeTemporal{}
	h, err := receiver.New(fake, receiver.Options{
		Projects: map[string]*receiver.Verifier{"": receiver.NewVerifier([]string{testSecret}, 5*time.Minute, func() time.Time { return testNow })},
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := receiver.NewServer(h, 2*time.Second, slog.New(slog.DiscardHandler))
	if tweak != nil {
		tweak(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String(), fake
}

func post(t *testing.T, url string, h http.Header, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func signed(t *testing.T, id string, at time.Time, body []byte) http.Header {
	t.Helper()
	h, err := signing.Headers(testSecret, id, at, body)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHostileRequestsAreRefusedAndStartNothing(t *testing.T) {
	url, fake := hostileServer(t, nil)
	deep := []byte(`{"id":"evt_1","type":"x","data":` + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + `}`)
	huge := []byte(`{"id":"evt_1","type":"x","pad":"` + strings.Repeat("a", 2<<20) + `"}`)
	manyHeaders := http.Header{}
	for i := range 5000 {
		manyHeaders.Set("X-Filler-"+strconv.Itoa(i), "0123456789abcdef")
	}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   int
	}{
		{"one header over the limit", http.Header{"X-Big": {strings.Repeat("a", 2*receiver.MaxHeaderBytes)}}, []byte("{}"), http.StatusRequestHeaderFieldsTooLarge},
		{"thousands of headers", manyHeaders, []byte("{}"), http.StatusRequestHeaderFieldsTooLarge},
		{"signed, deeply nested JSON", signed(t, "wh_deep", testNow, deep), deep, http.StatusBadRequest},
		{"signed, over 1 MiB", signed(t, "wh_huge", testNow, huge), huge, http.StatusRequestEntityTooLarge},
		{"signed, invalid UTF-8", signed(t, "wh_utf8", testNow, []byte("{\"id\":\"\xc3\x28\",\"type\":\"x\"}")), []byte("{\"id\":\"\xc3\x28\",\"type\":\"x\"}"), http.StatusBadRequest},
		{"webhook-id longer than Temporal allows", signed(t, strings.Repeat("w", 1001), testNow, []byte(eventBody("x", "y"))), []byte(eventBody("x", "y")), http.StatusBadRequest},
		{"captured delivery replayed outside the tolerance", signed(t, "wh_old", testNow.Add(-6*time.Minute), []byte(eventBody("x", "y"))), []byte(eventBody("x", "y")), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(t, url, tt.header, tt.body); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
	if n := fake.starts.Load(); n != 0 {
		t.Errorf("%d workflow starts for hostile requests, want none", n)
	}
}

// A control character in a header value is refused by net/http itself,
// before the handler runs.
func TestControlCharactersInHeadersAreRefused(t *testing.T) {
	url, fake := hostileServer(t, nil)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: x\r\nWebhook-Id: wh_\x01bad\r\nContent-Length: 2\r\n\r\n{}")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || fake.starts.Load() != 0 {
		t.Errorf("status %d, %d starts; want 400 and none", resp.StatusCode, fake.starts.Load())
	}
}

// A replay inside the tolerance is a duplicate of the same workflow ID:
// Temporal refuses a second start, so it is acknowledged, not processed.
func TestReplayInsideTheToleranceIsADuplicate(t *testing.T) {
	url, fake := hostileServer(t, nil)
	body := []byte(eventBody("response.completed", "resp_1"))
	h := signed(t, "wh_captured", testNow.Add(-time.Minute), body)
	for range 2 {
		if got := post(t, url, h, body); got != http.StatusOK {
			t.Fatalf("status %d, want 200", got)
		}
	}
	if n := fake.starts.Load(); n != 2 {
		t.Fatalf("%d start attempts, want 2 (the second refused as a duplicate)", n)
	}
}

// Slowloris: a client that sends its headers byte by byte is cut off by
// the header timeout instead of holding a connection forever.
func TestSlowHeadersAreCutOff(t *testing.T) {
	url, _ := hostileServer(t, func(s *http.Server) { s.ReadHeaderTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn)
		close(closed)
	}()
	partial := "POST /webhook HTTP/1.1\r\nHost: x\r\nWebhook-Id: wh_slow"
	deadline := time.After(10 * time.Second)
	for i := 0; ; i++ {
		select {
		case <-closed:
			return
		case <-deadline:
			t.Fatal("the server kept a slow-header connection open for 10 s")
		case <-time.After(50 * time.Millisecond):
			_, _ = conn.Write([]byte{partial[i%len(partial)]})
		}
	}
}

// A flood of forged deliveries is refused without a single start, and
// leaves no goroutines or memory behind.
func TestForgedFloodLeavesNothingBehind(t *testing.T) {
	url, fake := hostileServer(t, nil)
	body := []byte(eventBody("response.completed", "resp_1"))
	h := signed(t, "wh_forged", testNow, body)
	h.Set("webhook-signature", "v1,Zm9yZ2VkIHNpZ25hdHVyZSBvZiAzMiBieXRlcyEhISE=")

	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	flood := func(n int) {
		var wg sync.WaitGroup
		for w := range 32 {
			wg.Go(func() {
				for i := w; i < n; i += 32 {
					req, _ := http.NewRequest(http.MethodPost, url+"/webhook", bytes.NewReader(body))
					req.Header = h.Clone()
					req.Header.Set("webhook-id", "wh_forged_"+strconv.Itoa(i))
					resp, err := client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusBadRequest {
						t.Errorf("forged delivery: status %d", resp.StatusCode)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	flood(2000) // warm up pools and connections
	goroutines, heap := settled()
	flood(20000)
	tr.CloseIdleConnections()
	afterGoroutines, afterHeap := settled()
	if fake.starts.Load() != 0 {
		t.Errorf("%d starts during a forged flood", fake.starts.Load())
	}
	if afterGoroutines > goroutines+5 {
		t.Errorf("goroutines grew from %d to %d", goroutines, afterGoroutines)
	}
	if afterHeap > heap+8<<20 {
		t.Errorf("heap grew from %d to %d bytes", heap, afterHeap)
	}
}

// settled returns the goroutine count and live heap once idle connections
// have closed and a collection has run.
func settled() (int, uint64) {
	var n int
	for range 50 {
		n = runtime.NumGoroutine()
		time.Sleep(20 * time.Millisecond)
		if runtime.NumGoroutine() == n {
			break
		}
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return n, m.HeapAlloc
}
