package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestListenerBindsHostAndAdvertisesName(t *testing.T) {
	ln, err := listener("127.0.0.1", "kafka.example.internal", net.Listen)("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	require.NoError(t, err)
	assert.Equal(t, "kafka.example.internal:"+port, ln.Addr().String())
	// The real socket is on the bound address.
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	require.NoError(t, err)
	c.Close()
}

func TestListenerWithoutAdvertiseKeepsTheBoundAddress(t *testing.T) {
	ln, err := listener("127.0.0.1", "", net.Listen)("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	assert.Contains(t, ln.Addr().String(), "127.0.0.1:")
}

func TestListenRefusesNames(t *testing.T) {
	err := run(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)), []string{"-listen", "localhost", "-port", "0"})
	require.ErrorContains(t, err, "want an IP address")
}

// A client bootstrapping from the bound address is told the advertised name in the
// metadata: what a pod behind a Service needs.
func TestBrokerMetadataCarriesTheAdvertisedName(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.ListenFn(listener("127.0.0.1", "broker.test", net.Listen)))
	require.NoError(t, err)
	defer c.Close()
	addr := c.ListenAddrs()[0]
	require.Contains(t, addr, "broker.test:")
	_, port, _ := net.SplitHostPort(addr)
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:" + port))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	require.NoError(t, err)
	var seen []string
	for _, b := range resp.Brokers {
		seen = append(seen, net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))))
	}
	assert.Equal(t, []string{"broker.test:" + port}, seen)
}
