package stack

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStatusKB(t *testing.T) {
	status := "Name:\treceiver\nVmPeak:\t  812345 kB\nVmHWM:\t   43210 kB\nVmRSS:\t   40000 kB\n"
	if got, err := parseStatusKB(strings.NewReader(status), "VmHWM:"); err != nil || got != 43210 {
		t.Errorf("parseStatusKB(VmHWM) = %d, %v; want 43210", got, err)
	}
	if got, err := parseStatusKB(strings.NewReader(status), "VmRSS:"); err != nil || got != 40000 {
		t.Errorf("parseStatusKB(VmRSS) = %d, %v; want 40000", got, err)
	}
	if _, err := parseStatusKB(strings.NewReader("Name:\tx\n"), "VmHWM:"); err == nil {
		t.Error("parseStatusKB without a VmHWM line: no error")
	}
}

func TestParseCPUTime(t *testing.T) {
	// A command name with spaces and parentheses, utime 250 and stime 50 ticks.
	stat := "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0 12345 1000000 2000 18446744073709551615"
	got, err := parseCPUTime(stat)
	if err != nil || got != 3*time.Second {
		t.Errorf("parseCPUTime = %v, %v; want 3s", got, err)
	}
	if _, err := parseCPUTime("garbage"); err == nil {
		t.Error("parseCPUTime(garbage): no error")
	}
}

func TestEnvironWithoutDropsThePrefixes(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
	t.Setenv("STACK_TEST_KEPT", "1")
	t.Setenv("STACK_TEST_ONE", "1")
	t.Setenv("STACK_TEST_ONE_MORE", "1")
	env := EnvironWithout("OTEL_", "STACK_TEST_ONE=")
	for _, kv := range env {
		if strings.HasPrefix(kv, "OTEL_") || strings.HasPrefix(kv, "STACK_TEST_ONE=") {
			t.Errorf("%s kept", kv)
		}
	}
	for _, kept := range []string{"STACK_TEST_KEPT=1", "STACK_TEST_ONE_MORE=1"} {
		if !slices.Contains(env, kept) {
			t.Errorf("%s dropped", kept)
		}
	}
}
