package attack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafka-restaurants/kafka-restaurants/tests/stack"
)

// nginx limits orders per client address. Each attacker below comes from an address of its
// own on the loopback network (127.1.x.y), so one test's orders never spend another's
// allowance, and the rate-limit test starts from a full allowance.
var nextAddr atomic.Uint32

func freshAddr() net.IP {
	n := nextAddr.Add(1)
	return net.IPv4(127, 1, byte(n>>8), byte(n&0xff))
}

func dialFrom(ip net.IP) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 5 * time.Second}
	return d.DialContext
}

// client is one browser: its own source address, its own connections.
func client() *http.Client {
	return &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{DialContext: dialFrom(freshAddr()), DisableCompression: true},
		// A redirect would hide what nginx answered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// tally counts the hostile requests sent (send and raw) and their answers by status, so
// the suite can print what it tried (docs/RELIABILITY.md keeps the table of a real run).
var tally = struct {
	sync.Mutex
	byStatus map[int]int
}{byStatus: map[int]int{}}

func count(status int) {
	tally.Lock()
	tally.byStatus[status]++
	tally.Unlock()
}

// takeTally returns the answers counted since the last call, by status, and starts again.
func takeTally() map[int]int {
	tally.Lock()
	defer tally.Unlock()
	out := tally.byStatus
	tally.byStatus = map[int]int{}
	return out
}

// send makes one request as c and reads the whole answer. The path is sent as written
// (no cleaning), headers keep their spelling.
func send(t *testing.T, c *http.Client, method, path string, body []byte, header map[string]string) stack.Response {
	t.Helper()
	req, err := http.NewRequest(method, stack.WebURL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = []string{v}
	}
	resp, err := c.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	count(resp.StatusCode)
	return stack.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// raw writes request bytes exactly as given to nginx (request lines no HTTP client would
// send: a raw '#', an absolute URI, dot segments) and reads the answer.
func raw(t *testing.T, request string) stack.Response {
	t.Helper()
	conn, err := dialFrom(freshAddr())(context.Background(), "tcp", strings.TrimPrefix(stack.WebURL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(15*time.Second)))
	_, err = io.WriteString(conn, request)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "answer to %q", request)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	count(resp.StatusCode)
	return stack.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// apiError is the {"code","message"} body of every refusal.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func errorOf(t *testing.T, r stack.Response) apiError {
	t.Helper()
	var e apiError
	require.NoError(t, json.Unmarshal(r.Body, &e), "a JSON error body: %q", r.Body)
	require.NotEmpty(t, e.Code, "a JSON error body: %q", r.Body)
	return e
}

// nginx's own refusal of a path that is not a public API route; the API's own 404 says
// "no such route" (or names what it did not find).
const nginxNoRoute = "no such API route"

// requestLine is a service's log line for one request it served (service.RequestLogger).
type requestLine struct {
	Msg     string `json:"msg"`
	Method  string `json:"method"`
	Path    string `json:"path"`
	Status  int    `json:"status"`
	TraceID string `json:"traceId"`
}

func requestLines(log string) []requestLine {
	var out []requestLine
	for _, l := range strings.Split(log, "\n") {
		var r requestLine
		if json.Unmarshal([]byte(l), &r) == nil && r.Msg == "request" {
			out = append(out, r)
		}
	}
	return out
}

var syncSeq atomic.Uint32

// servedRequests returns every request the app has logged so far, and is sure of "so far":
// it asks the app itself (with the app token its own sidecar presents) for a path nobody else
// asks for and waits until that request is in the log. The app's log is one stream, so
// every request it served before is in the log too. Marker lines are left out.
func servedRequests(t *testing.T, s *stack.Stack, app string, port int) []requestLine {
	t.Helper()
	mark := fmt.Sprintf("/attack-sync-%d", syncSeq.Add(1))
	r := stack.Do(t, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, mark), nil, map[string]string{"dapr-api-token": s.AppAPIToken(app)})
	require.Equal(t, http.StatusNotFound, r.Status, "%s answers the marker itself: %s", app, r.Body)
	var lines []requestLine
	stack.Eventually(t, 15*time.Second, app+"'s log to show "+mark, func() bool {
		lines = lines[:0]
		seen := false
		for _, l := range requestLines(s.ReadLog(t, app)) {
			seen = seen || l.Path == mark
			if !strings.HasPrefix(l.Path, "/attack-sync-") {
				lines = append(lines, l)
			}
		}
		return seen
	})
	return lines
}

// filesHolding lists the files under dir (state stores, broker data, logs, mailpit's store)
// whose bytes contain s. Links (the sandbox's links to the repository) are not followed.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(s)) {
			found = append(found, path)
		}
		return nil
	})
	require.NoError(t, err)
	return found
}

// faults reads the bank's fault settings (what an attacker reaching its admin would change).
func faults(t *testing.T) string {
	t.Helper()
	r := stack.Do(t, http.MethodGet, stack.BankURL+"/v1/admin/faults", nil, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	return string(r.Body)
}
