package catalogstate

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitJoinRoundTrip(t *testing.T) {
	for _, size := range []int{1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 17} {
		data := bytes.Repeat([]byte("r"), size)
		p, chunks := Split("v1", data, 3, time.Unix(0, 0))
		assert.Equal(t, (size+ChunkSize-1)/ChunkSize, p.Chunks)
		assert.Len(t, p.Keys(), p.Chunks)
		got, err := Join(p, chunks)
		require.NoError(t, err)
		assert.Equal(t, data, got)
	}
}

func TestJoinRefusesPartialOrMixedVersions(t *testing.T) {
	data := bytes.Repeat([]byte("a"), 2*ChunkSize+5)
	p, chunks := Split("v1", data, 1, time.Now())

	_, err := Join(p, chunks[:2])
	require.Error(t, err, "a missing chunk must not pass")

	other := append([][]byte{}, chunks...)
	other[1] = bytes.Repeat([]byte("b"), ChunkSize) // a chunk of another version
	_, err = Join(p, other)
	require.Error(t, err)
}

func TestDecodePointer(t *testing.T) {
	p, _ := Split("v9", []byte("{}"), 0, time.Now())
	b := []byte(`{"version":"v9","chunks":1,"size":2,"sha256":"` + p.SHA256 + `"}`)
	got, err := DecodePointer(b)
	require.NoError(t, err)
	assert.Equal(t, "v9", got.Version)

	for _, bad := range []string{`nope`, `{}`, `{"version":"v","chunks":0,"size":1,"sha256":"x"}`} {
		_, err := DecodePointer([]byte(bad))
		assert.Error(t, err, bad)
	}
}
