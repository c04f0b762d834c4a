package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthOptions(t *testing.T) {
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
		return p
	}
	good := file("good.json", `[{"name":"api-kafka","password":"pw","acls":[{"resource":{"type":"topic","name":"order","patternType":"literal"},"operations":["Write","Describe"]}]}]`)
	cases := []struct {
		name            string
		cert, key, user string
		wantOpts        int
		wantErr         string
	}{
		{"nothing: plaintext, no authentication", "", "", "", 0, ""},
		{"users: SASL, ACLs and one option per user", "", "", good, 3, ""},
		{"a certificate without its key", "cert.pem", "", "", 0, "go together"},
		{"a certificate that is not there", filepath.Join(dir, "none.crt"), filepath.Join(dir, "none.key"), "", 0, "load TLS certificate"},
		{"no users", "", "", file("empty.json", `[]`), 0, "no users"},
		{"a user without a password", "", "", file("nopw.json", `[{"name":"api-kafka"}]`), 0, "without a name or password"},
		{"an operation Kafka does not have", "", "", file("op.json", `[{"name":"a","password":"p","acls":[{"resource":{"type":"topic","name":"order"},"operations":["Produce"]}]}]`), 0, "Produce"},
		{"a resource Kafka does not have", "", "", file("res.json", `[{"name":"a","password":"p","acls":[{"resource":{"type":"queue","name":"order"},"operations":["Read"]}]}]`), 0, "queue"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opts, err := authOptions(c.cert, c.key, c.user)
			if c.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Len(t, opts, c.wantOpts)
		})
	}
}
