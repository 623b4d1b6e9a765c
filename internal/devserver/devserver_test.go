package devserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

func TestFind(t *testing.T) {
	tests := []struct {
		name    string
		files   []string // executables to create under the temp root
		env     string   // $TEMPORAL_CLI, relative to the root; "" unsets it
		wd      string   // working directory, relative to the root
		want    string   // relative to the root; "" means ErrNotFound
		wantMsg string   // part of the error message
	}{
		{
			name:  "env var wins over module and PATH",
			files: []string{"mod/go.mod", "mod/bin/temporal", "path/temporal", "custom/temporal"},
			env:   "custom/temporal",
			wd:    "mod/internal/x",
			want:  "custom/temporal",
		},
		{
			name:    "env var naming no file is an error, not a fallback",
			files:   []string{"mod/go.mod", "mod/bin/temporal", "path/temporal"},
			env:     "custom/temporal",
			wd:      "mod",
			wantMsg: "TEMPORAL_CLI",
		},
		{
			name:  "module bin wins over PATH",
			files: []string{"mod/go.mod", "mod/bin/temporal", "path/temporal"},
			wd:    "mod/internal/x",
			want:  "mod/bin/temporal",
		},
		{
			name:  "PATH when the module has no bin/temporal",
			files: []string{"mod/go.mod", "path/temporal"},
			wd:    "mod/internal/x",
			want:  "path/temporal",
		},
		{
			name:    "nothing found says how to get it",
			files:   []string{"mod/go.mod"},
			wd:      "mod",
			wantMsg: "make bin/temporal",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range append(tt.files, filepath.Join(tt.wd, ".keep")) {
				path := filepath.Join(root, f)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			env := ""
			if tt.env != "" {
				env = filepath.Join(root, tt.env)
			}
			t.Setenv(EnvCLI, env)
			t.Setenv("PATH", filepath.Join(root, "path"))
			t.Chdir(filepath.Join(root, tt.wd))

			got, err := Find()
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("Find() = %q, %v; want an ErrNotFound mentioning %q", got, err, tt.wantMsg)
				}
				return
			}
			if want := filepath.Join(root, tt.want); err != nil || got != want {
				t.Fatalf("Find() = %q, %v; want %q", got, err, want)
			}
		})
	}
}

// startServer starts a server for the test and stops it when the test ends,
// checking that no process is left behind.
func startServer(t *testing.T, opts Options) *Server {
	t.Helper()
	bin, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	opts.Binary = bin
	opts.Log = t.Output()
	opts.StartTimeout = 20 * time.Second
	begin := time.Now()
	s, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start took %v (headless: %v)", time.Since(begin).Round(time.Millisecond), opts.Headless)
	t.Cleanup(func() {
		pid, begin := s.PID(), time.Now()
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
		t.Logf("Stop took %v", time.Since(begin).Round(time.Millisecond))
		if processExists(pid) {
			t.Errorf("process %d still exists after Stop", pid)
		}
	})
	return s
}

// processExists reports whether pid is a process, zombies included.
func processExists(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func dial(t *testing.T, address string) client.Client {
	t.Helper()
	c, err := client.DialContext(t.Context(), client.Options{HostPort: address, Logger: discardLogger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestKillThenRestartKeepsWorkflows(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, Options{Headless: true, DBFile: filepath.Join(t.TempDir(), "state", "temporal.db")})
	if s.UIURL() != "" {
		t.Errorf("UIURL() = %q, want empty when headless", s.UIURL())
	}

	// No worker runs: the workflow stays running, which is enough to find it.
	run, err := dial(t, s.Address()).ExecuteWorkflow(ctx,
		client.StartWorkflowOptions{ID: "devserver-test", TaskQueue: "devserver-test"}, "NoSuchWorkflow")
	if err != nil {
		t.Fatal(err)
	}

	oldPID, exited := s.PID(), s.Exited()
	if err := s.Kill(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	default:
		t.Fatal("Exited() not closed after Kill")
	}
	if processExists(oldPID) {
		t.Fatalf("process %d still exists after Kill", oldPID)
	}

	begin := time.Now()
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Restart after Kill took %v", time.Since(begin).Round(time.Millisecond))
	if s.PID() == oldPID {
		t.Errorf("PID() = %d after Restart, want a new process", oldPID)
	}

	d, err := dial(t, s.Address()).DescribeWorkflow(ctx, "devserver-test", "")
	if err != nil {
		t.Fatalf("workflow lost across Kill and Restart: %v", err)
	}
	info := d.RawResponse.GetWorkflowExecutionInfo()
	if got, want := info.GetExecution().GetRunId(), run.GetRunID(); got != want {
		t.Errorf("run ID = %s, want %s", got, want)
	}
	if got, want := info.GetStatus(), enums.WORKFLOW_EXECUTION_STATUS_RUNNING; got != want {
		t.Errorf("status = %v, want %v", got, want)
	}
}

func TestStartWithUIAndNamespaces(t *testing.T) {
	ctx := t.Context()
	s := startServer(t, Options{
		Namespaces:       []string{"hookbridge-test"},
		SearchAttributes: map[string]string{"OpenAIEventType": "Keyword"},
		DynamicConfig:    map[string]string{"frontend.enableUpdateWorkflowExecution": "true"},
	})

	resp, err := http.Get(s.UIURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s", s.UIURL(), resp.Status)
	}

	c := dial(t, s.Address())
	if _, err := c.WorkflowService().DescribeNamespace(ctx,
		&workflowservice.DescribeNamespaceRequest{Namespace: "hookbridge-test"}); err != nil {
		t.Errorf("extra namespace: %v", err)
	}
	sa, err := c.OperatorService().ListSearchAttributes(ctx,
		&operatorservice.ListSearchAttributesRequest{Namespace: "hookbridge-test"})
	if err != nil {
		t.Fatal(err)
	}
	if got := sa.GetCustomAttributes()["OpenAIEventType"]; got != enums.INDEXED_VALUE_TYPE_KEYWORD {
		t.Errorf("search attribute OpenAIEventType = %v, want Keyword", got)
	}

	// A graceful Restart keeps the ports, so the address still works.
	if err := s.Restart(ctx); err != nil {
		t.Fatal(err)
	}

	dir := s.tmpDir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s not removed by Stop: %v", dir, err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := s.Restart(ctx); !errors.Is(err, ErrStopped) {
		t.Errorf("Restart after Stop = %v, want ErrStopped", err)
	}
}

func TestStartFailsWithServerOutput(t *testing.T) {
	bin, err := Find()
	if err != nil {
		t.Fatal(err)
	}
	// A port already in use makes the CLI exit at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	port := l.Addr().(*net.TCPAddr).Port

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := Start(ctx, Options{Binary: bin, Port: port, Headless: true})
	if err == nil {
		s.Stop()
		t.Fatal("Start on a busy port succeeded")
	}
	if want := fmt.Sprintf("can't set frontend port %d", port); !strings.Contains(err.Error(), want) {
		t.Errorf("Start error = %v; want it to include the server's %q", err, want)
	}
	t.Log(err)
}

// A server that dies at start fails Start at once with its exit and output,
// rather than after the start timeout.
func TestStartReportsAServerThatExits(t *testing.T) {
	script := filepath.Join(t.TempDir(), "temporal")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho 'bind: address already in use'\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Options{Binary: script, StartTimeout: time.Minute})
	if err == nil {
		s.Stop()
		t.Fatal("Start succeeded with a server that exits")
	}
	for _, want := range []string{"temporal server exited before it was ready (exit status 2)", "bind: address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
