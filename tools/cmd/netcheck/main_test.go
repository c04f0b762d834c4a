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
	// "a" opens on the third attempt, "b" on the first: waitOpen keeps trying until both
	// have opened, and asks again only for what is still closed.
	attempts := map[string]int{}
	try := func(addr string) result {
		attempts[addr]++
		return result{Addr: addr, Open: addr == "b" || attempts[addr] >= 3}
	}
	require.NoError(t, waitOpen([]string{"a", "b"}, try, time.Minute, time.Millisecond))
	assert.Equal(t, map[string]int{"a": 3, "b": 1}, attempts)
}

func TestWaitOpenGivesUpNamingWhatIsClosed(t *testing.T) {
	try := func(addr string) result { return result{Addr: addr, Open: addr == "open:1"} }
	err := waitOpen([]string{"open:1", "closed:2"}, try, 20*time.Millisecond, time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "closed:2")
	assert.NotContains(t, err.Error(), "open:1")
}
