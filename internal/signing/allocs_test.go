// The race detector allocates on its own account, so this test is built
// without it: make test runs it in a run of its own (see test-unit).

//go:build !race

package signing_test

import (
	"testing"

	"github.com/hookbridge/hookbridge/internal/signing"
)

// TestKeyMACDoesNotAllocate: a forged request costs one MAC per secret and
// no garbage, whatever it claims.
func TestKeyMACDoesNotAllocate(t *testing.T) {
	key, err := signing.NewKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"test": 2432232314}`)
	if n := testing.AllocsPerRun(100, func() { key.MAC("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", body) }); n > 0 {
		t.Errorf("MAC allocates %.0f times per call, want 0", n)
	}
}
