// Package freeport finds TCP ports for servers that tests and benchmarks
// start as other processes, which must be told their port before they bind.
package freeport

import (
	"fmt"
	"net"
)

// Ports returns n distinct TCP ports that are free on ip. Each is left in
// TIME_WAIT, so that another bind to port 0 on this machine (a parallel
// test, the Temporal CLI picking its internal ports) does not get it for
// about a minute, while the server it is meant for can still bind it: Go
// listeners set SO_REUSEADDR. The Temporal CLI picks its own ports the same
// way.
func Ports(ip string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	// All listeners stay open until every port is chosen, so the ports are
	// distinct.
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		if err := parkInTimeWait(l); err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
	}
	return ports, nil
}

// Port returns one port as Ports does, on loopback.
func Port() (int, error) {
	ports, err := Ports("127.0.0.1", 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

// parkInTimeWait leaves a connection to l's port in TIME_WAIT, closed by the
// listening side.
func parkInTimeWait(l net.Listener) error {
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	sc, err := l.Accept()
	if err != nil {
		return err
	}
	return sc.Close()
}
