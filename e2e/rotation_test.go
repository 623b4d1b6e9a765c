package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookbridge/hookbridge/internal/signing"
)

const (
	rotationRate = 50 // deliveries per second
	// A sender signing with this key forges: it was never valid.
	forgerSecret = "whsec_Zm9yZ2VyLWZvcmdlci1mb3JnZXItZm9yZ2VyLWZvcmdlcg=="
	newSecret    = "whsec_bmV3LXNlY3JldC1vZi1hdC1sZWFzdC0yNC1ieXRlcy0xMjM="
)

// A live rotation of the signing secret under a steady 50 deliveries/s, as
// the runbook does it: the secrets file gains the new secret beside the old
// (OpenAI then signs with both), OpenAI's overlap ends (it signs with the
// new one only), and the old one is pruned from the file. No delivery
// signed with a valid secret is refused at any moment; every forgery is,
// and so is the old secret once pruned. The receiver never restarts.
func TestSecretRotationUnderLoadRefusesNothingValid(t *testing.T) {
	file := filepath.Join(t.TempDir(), "webhook-secrets")
	writeSecrets(t, file, secret)
	s := newStack(t, stackOptions{env: []string{"OPENAI_WEBHOOK_SECRET=", "OPENAI_WEBHOOK_SECRET_FILE=" + file}})
	receiverPID := s.receiver.PID()

	// signWith is what OpenAI signs with, changed as the rotation goes.
	var signWith atomic.Pointer[[]string]
	signWith.Store(&[]string{secret})
	var (
		mu                        sync.Mutex
		sent, refused, forgedSent int
		forgedAccepted            int
		refusedExamples           []string
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second / rotationRate)
		defer tick.Stop()
		var wg sync.WaitGroup
		for i := 0; ; i++ {
			select {
			case <-stop:
				wg.Wait()
				return
			case <-tick.C:
			}
			secrets, forged := *signWith.Load(), i%10 == 9
			if forged {
				secrets = []string{forgerSecret}
			}
			wg.Go(func() {
				id := fmt.Sprintf("wh_rot_%05d", i)
				body := eventBody(fmt.Sprintf("evt_rot_%05d", i), "rotation.probe", "")
				h, err := signing.HeadersFor(secrets, id, time.Now(), []byte(body))
				if err != nil {
					t.Error(err)
					return
				}
				a, err := s.deliver(h, body)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case forged:
					forgedSent++
					if err == nil && a.status == http.StatusOK {
						forgedAccepted++
					}
				default:
					sent++
					if err != nil || a.status != http.StatusOK {
						refused++
						if len(refusedExamples) < 5 {
							refusedExamples = append(refusedExamples, fmt.Sprintf("%s signed with %d secret(s): %d %v", id, len(secrets), a.status, err))
						}
					}
				}
			})
		}
	}()

	pause(3 * time.Second)
	// rotate --keep-old: the new secret first, the old kept; OpenAI signs
	// with both from now on.
	writeSecrets(t, file, newSecret, secret)
	signWith.Store(&[]string{newSecret, secret})
	// OpenAI's overlap ends once the receiver knows the new secret (a day
	// in production; here, as soon as a probe signed with it alone passes).
	waitFor(t, 10*time.Second, "the receiver to accept the new secret", func() bool {
		return s.probe(t, newSecret) == http.StatusOK
	})
	pause(2 * time.Second)
	signWith.Store(&[]string{newSecret})
	pause(2 * time.Second)
	// prune: the old secret leaves the file.
	writeSecrets(t, file, newSecret)
	waitFor(t, 10*time.Second, "the receiver to drop the old secret", func() bool {
		return s.probe(t, secret) == http.StatusBadRequest
	})
	pause(2 * time.Second)
	close(stop)
	<-done

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d deliveries signed with a valid secret (%d/s), %d refused; %d forgeries, %d accepted", sent, rotationRate, refused, forgedSent, forgedAccepted)
	if refused != 0 {
		t.Errorf("%d deliveries signed with a valid secret were refused during the rotation, e.g. %v", refused, refusedExamples)
	}
	if forgedAccepted != 0 || forgedSent == 0 {
		t.Errorf("%d of %d forgeries accepted, want none of some", forgedAccepted, forgedSent)
	}
	if s.receiver.PID() != receiverPID || s.receiver.HasExited() {
		t.Error("the receiver restarted during the rotation")
	}
	if n, _ := sum(scrape(t, s.ReceiverMetrics), "hookbridge_secret_loaded"); n != 1 {
		t.Errorf("hookbridge_secret_loaded = %v, want 1 (the file's content in use)", n)
	}
}

// writeSecrets replaces the secrets file at once, as an operator's tool
// (or Kubernetes) does: a new file renamed over the old.
func writeSecrets(t *testing.T, file string, secrets ...string) {
	t.Helper()
	content := ""
	for _, s := range secrets {
		content += s + "\n"
	}
	tmp := file + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// probe posts a delivery signed with secret alone and returns the status.
func (s *stack) probe(t *testing.T, secret string) int {
	t.Helper()
	id := fmt.Sprintf("wh_probe_%d", time.Now().UnixNano())
	body := eventBody("evt_"+id, "rotation.probe", "")
	h, err := signing.Headers(secret, id, time.Now(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return s.deliverOrFail(t, h, body).status
}
