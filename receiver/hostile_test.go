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
	"runtime/metrics"
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
	return hostileServerOn(t, nil, tweak)
}

// hostileServerOn is hostileServer with its listener wrapped by wrap,
// when not nil.
func hostileServerOn(t *testing.T, wrap func(net.Listener) net.Listener, tweak func(*http.Server)) (string, *fakeTemporal) {
	t.Helper()
	fake := &fakeTemporal{}
	verifier := receiver.NewVerifier([]string{testSecret}, 5*time.Minute, func() time.Time { return testNow })
	h, err := receiver.New(fake, receiver.Options{
		Projects: map[string]*receiver.Verifier{"": verifier, "staging": verifier},
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
	if wrap != nil {
		ln = wrap(ln)
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

// rawRequest writes the request line and headers of a POST announcing a
// body of length bytes to a new connection, and none of the body.
func rawRequest(t *testing.T, url, path string, h http.Header, length int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: receiver\r\nContent-Length: %d\r\n", path, length)
	h.Write(&req)
	req.WriteString("\r\n")
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	return conn
}

// answer reads the response on conn, failing after timeout.
func answer(t *testing.T, conn net.Conn, timeout time.Duration) *http.Response {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", timeout, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the answer the connection is still open (%v): the server would wait for the body", err)
	}
	return resp
}

// Every fault that needs no body is refused before the body is read: a
// request whose body never comes is answered at once, and its connection
// closed, instead of waiting for the read timeout.
func TestHeaderFaultsAreRefusedBeforeTheBody(t *testing.T) {
	url, fake := hostileServer(t, func(s *http.Server) { s.ReadTimeout = time.Minute })
	body := []byte(eventBody("response.completed", "resp_1"))
	good := func() http.Header { return signed(t, "wh_1", testNow, body) }
	with := func(name, value string) http.Header {
		h := good()
		h.Set(name, value)
		return h
	}
	without := func(name string) http.Header {
		h := good()
		h.Del(name)
		return h
	}
	tests := []struct {
		name   string
		path   string
		h      http.Header
		length int
		want   int
	}{
		{"no signature", "/webhook", without("webhook-signature"), 1000, http.StatusBadRequest},
		{"no webhook-id", "/webhook", without("webhook-id"), 1000, http.StatusBadRequest},
		{"timestamp not a number", "/webhook", with("webhook-timestamp", "soon"), 1000, http.StatusBadRequest},
		{"timestamp outside the tolerance", "/webhook", signed(t, "wh_1", testNow.Add(-time.Hour), body), 1000, http.StatusBadRequest},
		{"webhook-id too long", "/webhook", with("webhook-id", strings.Repeat("w", 1001)), 1000, http.StatusBadRequest},
		{"1,000 signatures", "/webhook", with("webhook-signature", strings.Join(forgedSignatures(1000), " ")), 1000, http.StatusBadRequest},
		{"v1a only", "/webhook", with("webhook-signature", "v1a,"+strings.Repeat("A", 86)+"=="), 1000, http.StatusBadRequest},
		{"v1 signature not a MAC", "/webhook", with("webhook-signature", "v1,Zm9yZ2Vk"), 1000, http.StatusBadRequest},
		{"announced body over the limit", "/webhook", good(), 2 << 20, http.StatusRequestEntityTooLarge},
		{"a project not served", "/webhook/nope", good(), 1000, http.StatusNotFound},
		{"an unclean path", "/webhook//staging", good(), 1000, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := answer(t, rawRequest(t, url, tt.path, tt.h, tt.length), 5*time.Second)
			if resp.StatusCode != tt.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if n := fake.starts.Load(); n != 0 {
		t.Errorf("%d starts, want none", n)
	}
}

// heapBytes returns the bytes of live heap objects after a collection.
func heapBytes() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Sockets that announce the largest body and send none of it hold memory
// for what arrived, not for what they announced; genuine deliveries are
// answered meanwhile.
func TestSocketsThatSendNoBodyHoldLittleMemory(t *testing.T) {
	url, fake := hostileServer(t, func(s *http.Server) { s.ReadTimeout = time.Minute })
	const sockets = 200
	h := signed(t, "wh_idle", testNow, []byte("{}"))
	h.Set("webhook-signature", forgedSignatures(1)[0])
	goroutines, before := runtime.NumGoroutine(), heapBytes()
	for range sockets {
		rawRequest(t, url, "/webhook", h, 1<<20)
	}
	// Each socket's request is in the handler once its goroutine runs.
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() < goroutines+sockets {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, want %d: the server did not take the sockets", runtime.NumGoroutine(), goroutines+sockets)
		}
		time.Sleep(10 * time.Millisecond)
	}
	growth := int64(heapBytes()) - int64(before)
	// net/http's own buffers and the request come to about 10 KiB a socket.
	if most := int64(sockets * 32 << 10); growth > most {
		t.Errorf("heap grew by %d KiB for %d sockets announcing 1 MiB each, want at most %d KiB", growth>>10, sockets, most>>10)
	}
	body := []byte(eventBody("response.completed", "resp_1"))
	if got := post(t, url, signed(t, "wh_genuine", testNow, body), body); got != http.StatusOK || fake.starts.Load() != 1 {
		t.Errorf("a genuine delivery meanwhile: status %d, %d starts; want 200 and 1", got, fake.starts.Load())
	}
}

// Past the connection cap, a new connection gets a minimal 503 with
// Retry-After at once, without its request being read, and is closed;
// once a connection closes, requests are served again.
func TestConnectionsPastTheCapGet503(t *testing.T) {
	const maxConns = 3
	url, _ := hostileServerOn(t, func(ln net.Listener) net.Listener {
		return receiver.LimitConnections(ln, maxConns, 7*time.Second, slog.New(slog.DiscardHandler))
	}, nil)
	var held []net.Conn
	for range maxConns {
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		held = append(held, conn)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// The server counts a connection once it accepts it: until then a
	// request may still get through, so wait for the first 503.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				if ra := resp.Header.Get("Retry-After"); ra != "7" {
					t.Errorf("Retry-After = %q, want 7", ra)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no 503 with %d connections open (last: %v)", maxConns, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	held[0].Close()
	deadline = time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("requests still refused after a connection closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
