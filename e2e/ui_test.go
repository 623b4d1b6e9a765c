package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The Temporal UI is hookbridge's window: a delivered event's workflow page,
// loaded in a real headless Chromium, shows its webhook-id, summary and
// outcome. The screenshot is kept in e2e/artifacts.
func TestTemporalUIShowsTheEventWorkflow(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is needed for the UI test (`make test` installs Debian's package): %v", err)
	}
	s := newStack(t, stackOptions{ui: true})
	if _, err := s.Sim.Seed("batch.completed", "batch_ui"); err != nil {
		t.Fatal(err)
	}
	const id = "wh_ui_page"
	s.post(t, id, eventBody("evt_ui", "batch.completed", "batch_ui"))
	s.result(t, id)

	// Chromium's helper processes may still write to its profile for a
	// moment after the browser has exited (t.TempDir's removal failed on
	// "directory not empty"): the profile is removed once they have stopped.
	profile, err := os.MkdirTemp("", "hookbridge-ui-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		waitFor(t, 10*time.Second, "Chromium's profile removed", func() bool { return os.RemoveAll(profile) == nil })
	})
	allocCtx, cancel := chromedp.NewExecAllocator(testContext(t, 2*time.Minute),
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1400, 1000),
		chromedp.UserDataDir(profile),
	)
	defer cancel()
	// Newer Chromium sends protocol events this chromedp cannot decode;
	// they are harmless.
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	defer cancel()

	page := s.DevServer.UIURL() + "/namespaces/default/workflows/" + id
	if err := chromedp.Run(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatal(err)
	}
	var text string
	want := []string{id, "batch.completed batch_ui", "Completed"}
	// The UI is a single-page app: poll its text until it has rendered.
	deadline := time.Now().Add(45 * time.Second)
	for !containsAll(text, want) && time.Now().Before(deadline) {
		tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
		_ = chromedp.Run(tctx, chromedp.Text("body", &text, chromedp.ByQuery))
		tcancel()
		time.Sleep(250 * time.Millisecond)
	}
	var shot []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&shot, 100)); err != nil {
		t.Errorf("screenshot: %v", err)
	} else if err := saveArtifact("ui-workflow.png", shot); err != nil {
		t.Errorf("saving the screenshot: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("the workflow page does not show %q; page text:\n%.2000s", w, text)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// saveArtifact keeps a file for people and CI to look at after the run.
func saveArtifact(name string, data []byte) error {
	dir := filepath.Join("artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, name), data, 0o644)
}
