package main

import (
	"fmt"
	"net"
	"strconv"
)

// listener builds kfake's ListenFn for a broker that binds host and tells clients to
// connect to advertise. kfake always asks for 127.0.0.1:<port> and advertises whatever its
// listener's Addr says, so in a cluster (where clients reach the broker through a Service
// name) the listener binds the pod's address and reports the advertised name instead.
func listener(host, advertise string, listen func(network, address string) (net.Listener, error)) func(network, address string) (net.Listener, error) {
	return func(network, address string) (net.Listener, error) {
		_, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		ln, err := listen(network, net.JoinHostPort(host, port))
		if err != nil {
			return nil, err
		}
		if advertise == "" {
			return ln, nil
		}
		_, bound, _ := net.SplitHostPort(ln.Addr().String())
		p, _ := strconv.Atoi(bound)
		return advertised{Listener: ln, addr: hostPort{host: advertise, port: p}}, nil
	}
}

type advertised struct {
	net.Listener
	addr hostPort
}

func (a advertised) Addr() net.Addr { return a.addr }

// hostPort is a net.Addr for a name, which net.TCPAddr cannot hold.
type hostPort struct {
	host string
	port int
}

func (h hostPort) Network() string { return "tcp" }
func (h hostPort) String() string  { return net.JoinHostPort(h.host, strconv.Itoa(h.port)) }

// validHost refuses a -listen value that is not an IP address (a name would bind whatever
// it resolves to today).
func validHost(h string) error {
	if net.ParseIP(h) == nil {
		return fmt.Errorf("-listen %q: want an IP address (127.0.0.1, or 0.0.0.0 in a pod)", h)
	}
	return nil
}
