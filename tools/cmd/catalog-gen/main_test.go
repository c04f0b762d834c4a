package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
)

func TestWritesACatalogParseAccepts(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		n    int
	}{
		{"compact", []string{"-n", "50", "-seed", "3"}, 50},
		{"indented", []string{"-n", "20", "-seed", "3", "-indent"}, 20},
		{"into a new folder", []string{"-n", "1"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name, "catalog.json")
			var stdout, stderr bytes.Buffer
			require.NoError(t, run(append(tt.args, "-o", path), &stdout, &stderr))
			assert.Empty(t, stdout.String())
			assert.Contains(t, stderr.String(), "wrote ")

			data, err := os.ReadFile(path)
			require.NoError(t, err)
			c, err := catalog.Parse(data)
			require.NoError(t, err)
			assert.Len(t, c.Restaurants, tt.n)
			assert.Contains(t, stderr.String(), c.Version)

			entries, err := os.ReadDir(filepath.Dir(path))
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file left behind")
		})
	}
}

func TestSameSeedSameFile(t *testing.T) {
	var a, b, other bytes.Buffer
	require.NoError(t, run([]string{"-n", "30", "-seed", "9"}, &a, os.Stderr))
	require.NoError(t, run([]string{"-n", "30", "-seed", "9", "-o", "-"}, &b, os.Stderr))
	require.NoError(t, run([]string{"-n", "30", "-seed", "10"}, &other, os.Stderr))
	assert.Equal(t, a.String(), b.String())
	assert.NotEqual(t, a.String(), other.String())
}

func TestRejectsBadArguments(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"zero restaurants", []string{"-n", "0"}, "-n must be from 1 to 200000, not 0"},
		{"too many", []string{"-n", "200001"}, "-n must be from 1 to 200000"},
		{"not a number", []string{"-n", "many"}, "invalid value"},
		{"unknown flag", []string{"-count", "5"}, "flag provided but not defined"},
		{"stray argument", []string{"out.json"}, `unexpected argument "out.json"`},
		{"unwritable path", []string{"-n", "1", "-o", "/proc/catalog.json"}, "catalog.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, stdout.String())
		})
	}
}
