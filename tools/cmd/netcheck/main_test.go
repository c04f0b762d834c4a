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
