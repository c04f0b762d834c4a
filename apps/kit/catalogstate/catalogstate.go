// Package catalogstate is how a catalog version is laid out in the Dapr state store that the
// catalog loader writes and the API reads: the catalog's bytes in chunks under a version,
// then one pointer key naming the current version. The loader writes every chunk before it
// moves the pointer, and the reader checks the assembled bytes against the pointer's hash,
// so a reader sees a whole version or the previous one, never half of one.
package catalogstate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// CurrentKey names the pointer to the version being served.
const CurrentKey = "catalog-current"

// ChunkSize keeps every state value well under the sidecar's message limit.
const ChunkSize = 1 << 20

// Pointer is the value of CurrentKey.
type Pointer struct {
	Version     string    `json:"version"`
	Chunks      int       `json:"chunks"`
	Size        int       `json:"size"`
	SHA256      string    `json:"sha256"`
	Restaurants int       `json:"restaurants"`
	PublishedAt time.Time `json:"publishedAt"`
}

// ChunkKey names chunk i of a version.
func ChunkKey(version string, i int) string {
	return "catalog-" + version + "-" + strconv.Itoa(i)
}

// Keys lists the chunk keys of the pointer's version.
func (p Pointer) Keys() []string {
	keys := make([]string, p.Chunks)
	for i := range keys {
		keys[i] = ChunkKey(p.Version, i)
	}
	return keys
}

// Split cuts data into chunks and returns them with the pointer that publishes them.
func Split(version string, data []byte, restaurants int, now time.Time) (Pointer, [][]byte) {
	var chunks [][]byte
	for off := 0; off < len(data); off += ChunkSize {
		chunks = append(chunks, data[off:min(off+ChunkSize, len(data))])
	}
	sum := sha256.Sum256(data)
	return Pointer{
		Version:     version,
		Chunks:      len(chunks),
		Size:        len(data),
		SHA256:      hex.EncodeToString(sum[:]),
		Restaurants: restaurants,
		PublishedAt: now.UTC(),
	}, chunks
}

// Join reassembles the chunks (in key order) and checks them against the pointer.
func Join(p Pointer, chunks [][]byte) ([]byte, error) {
	if len(chunks) != p.Chunks {
		return nil, fmt.Errorf("catalog %s: have %d of %d chunks", p.Version, len(chunks), p.Chunks)
	}
	data := make([]byte, 0, p.Size)
	for _, c := range chunks {
		data = append(data, c...)
	}
	sum := sha256.Sum256(data)
	if len(data) != p.Size || hex.EncodeToString(sum[:]) != p.SHA256 {
		return nil, fmt.Errorf("catalog %s: chunks do not match the published hash", p.Version)
	}
	return data, nil
}

// DecodePointer reads the value of CurrentKey.
func DecodePointer(b []byte) (Pointer, error) {
	var p Pointer
	if err := json.Unmarshal(b, &p); err != nil {
		return p, fmt.Errorf("catalog pointer: %w", err)
	}
	if p.Version == "" || p.Chunks < 1 || p.Size < 1 || len(p.SHA256) != 64 {
		return p, errors.New("catalog pointer: incomplete")
	}
	return p, nil
}
