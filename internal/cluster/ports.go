package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

const (
	// maxMembershipPort is the highest membership port the server can use
	// with SQL persistence: cluster_membership.rpc_port is a SMALLINT in
	// the schema (schema/postgresql/v12/temporal/schema.sql), and a service
	// whose membership port is higher dies at start with "value is out of
	// range for type smallint". The kernel hands out ephemeral ports from
	// 32768 up (Linux's default ip_local_port_range), so internal/freeport's
	// ports are all too high.
	maxMembershipPort = 32767
	// minMembershipPort is the lowest port membershipPorts picks, clear of
	// the well-known and most registered ports.
	minMembershipPort = 20000
)

// membershipPorts returns n distinct ports between minMembershipPort and
// maxMembershipPort that are free on ip, picked at random so that clusters
// started at the same time seldom pick the same. Being below the ephemeral
// range, they are not handed out by binds to port 0 meanwhile.
func membershipPorts(ip string, n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	// All listeners stay open until every port is chosen, so the ports are
	// distinct.
	ports := make([]int, 0, n)
	for try := 0; len(ports) < n; try++ {
		if try == 1000 {
			return nil, fmt.Errorf("find a free port in %d-%d: %d tries failed", minMembershipPort, maxMembershipPort, try)
		}
		port := minMembershipPort + rand.IntN(maxMembershipPort-minMembershipPort+1)
		l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, port)
	}
	return ports, nil
}
