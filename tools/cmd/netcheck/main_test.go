package main

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDialTellsOpenFromClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	open := ln.Addr().String()
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln2.Addr().String()
	require.NoError(t, ln2.Close())
	defer ln.Close()

	assert.Equal(t, result{Addr: open, Open: true}, dial(open, time.Second))
	r := dial(closed, time.Second)
	assert.False(t, r.Open)
	assert.Contains(t, r.Error, "refused")
}

func TestRunWantsAddresses(t *testing.T) {
	assert.ErrorContains(t, run(nil), "usage")
}

func TestWaitOpenReturnsOnceEveryAddressOpens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	// The port opens only after the first attempt has failed.
	opened := make(chan net.Listener, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		l, err := net.Listen("tcp", addr)
		if err == nil {
			opened <- l
		}
		close(opened)
	}()
	require.NoError(t, waitOpen([]string{addr}, time.Second, time.Minute, 20*time.Millisecond))
	if l, ok := <-opened; ok {
		l.Close()
	}
}

func TestWaitOpenGivesUpNamingWhatIsClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close())
	err = waitOpen([]string{closed}, 100*time.Millisecond, 300*time.Millisecond, 50*time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), closed)
}
