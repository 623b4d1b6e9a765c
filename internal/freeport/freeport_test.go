package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPortsAreDistinctAndBindable(t *testing.T) {
	ports, err := Ports("127.0.0.1", 5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d returned twice in %v", p, ports)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d cannot be bound: %v", p, err)
		}
		l.Close()
	}
}

func TestParkedPortsAreNotHandedToOtherBinds(t *testing.T) {
	ports, err := Ports("127.0.0.1", 20)
	if err != nil {
		t.Fatal(err)
	}
	parked := map[int]bool{}
	for _, p := range ports {
		parked[p] = true
	}
	// Closed without parking, one of 20 ports comes back within 2,000 binds
	// to port 0 every time we tried.
	for range 2000 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		got := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if parked[got] {
			t.Fatalf("parked port %d was handed to a bind to port 0", got)
		}
	}
}
