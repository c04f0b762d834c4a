package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type decodeTarget struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int // 0: accepted
		wantCode    string
	}{
		{"plain JSON", "application/json", `{"name":"a","count":2}`, 0, ""},
		{"JSON with a charset", "application/json; charset=utf-8", `{"name":"a"}`, 0, ""},
		{"a +json type", "application/cloudevents+json", `{"name":"a"}`, 0, ""},
		{"trailing whitespace", "application/json", "{\"name\":\"a\"}\n\t ", 0, ""},
		{"no content type", "", `{"name":"a"}`, 415, "unsupported_media_type"},
		{"text/plain", "text/plain", `{"name":"a"}`, 415, "unsupported_media_type"},
		{"form", "application/x-www-form-urlencoded", `name=a`, 415, "unsupported_media_type"},
		{"unparsable content type", "application/json; =", `{"name":"a"}`, 415, "unsupported_media_type"},
		{"empty body", "application/json", ``, 400, "malformed_json"},
		{"malformed", "application/json", `{"name":`, 400, "malformed_json"},
		{"not JSON", "application/json", `hello`, 400, "malformed_json"},
		{"two objects", "application/json", `{"name":"a"}{"name":"b"}`, 400, "malformed_json"},
		{"trailing garbage", "application/json", `{"name":"a"} x`, 400, "malformed_json"},
		{"unknown field", "application/json", `{"name":"a","cvv":"123"}`, 400, "unknown_field"},
		{"wrong type", "application/json", `{"count":"two"}`, 400, "invalid_field"},
		{"an array", "application/json", `[1]`, 400, "invalid_field"},
		{"over 64 KiB", "application/json", `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, "body_too_large"},
		{"over 64 KiB after a valid object", "application/json", `{"name":"a"}` + strings.Repeat(" ", MaxBodyBytes), 413, "body_too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			var dst decodeTarget
			err := DecodeJSON(httptest.NewRecorder(), req, &dst)
			if tc.wantStatus == 0 {
				require.NoError(t, err)
				assert.Equal(t, "a", dst.Name)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.wantStatus, e.Status)
			assert.Equal(t, tc.wantCode, e.Code)
			assert.NotEmpty(t, e.Message)
		})
	}
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantLogged bool
	}{
		{"client error as it is", Errorf(http.StatusBadRequest, "invalid_email", "bad %s", "email"), 400, "invalid_email", false},
		{"wrapped client error", errors.Join(errors.New("ctx"), Errorf(http.StatusConflict, "illegal_transition", "no")), 409, "illegal_transition", false},
		{"internal error hidden", errors.New("dial tcp 10.0.0.7:5432: connection refused"), 500, "internal", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log, buf := testLogger(t)
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest(http.MethodGet, "/x", nil), log, tc.err)
			assert.Equal(t, tc.wantStatus, rec.Code)
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var body map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, tc.wantCode, body["code"])
			assert.NotEmpty(t, body["message"])
			assert.NotContains(t, rec.Body.String(), "10.0.0.7", "a 5xx leaks nothing")
			if tc.wantLogged {
				assert.Len(t, buf.lines(), 1, "logged once")
				assert.Contains(t, buf.String(), "connection refused")
			} else {
				assert.Empty(t, buf.lines())
			}
		})
	}
}

func TestHandleMapsEveryReturnedError(t *testing.T) {
	log, logs := testLogger(t)
	tests := []struct {
		name     string
		err      error
		want     int
		wantBody string
		logged   bool
	}{
		{"no error: the handler's own answer", nil, http.StatusTeapot, "brewed", false},
		{"a client error as it is", Errorf(http.StatusConflict, "taken", "that one is taken"), http.StatusConflict, `{"code":"taken","message":"that one is taken"}`, false},
		{"a wrapped client error", fmt.Errorf("place: %w", Errorf(http.StatusBadRequest, "bad", "no")), http.StatusBadRequest, `"code":"bad"`, false},
		{"anything else: a 500 that leaks nothing, logged once", errors.New("db password hunter2 rejected"), http.StatusInternalServerError, `"code":"internal"`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(logs.lines())
			h := Handle(log, func(w http.ResponseWriter, _ *http.Request) error {
				if tc.err == nil {
					w.WriteHeader(http.StatusTeapot)
					_, _ = w.Write([]byte("brewed"))
				}
				return tc.err
			})
			rec := httptest.NewRecorder()
			h(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
			assert.Equal(t, tc.want, rec.Code)
			assert.Contains(t, rec.Body.String(), tc.wantBody)
			assert.NotContains(t, rec.Body.String(), "hunter2")
			assert.Equal(t, tc.logged, len(logs.lines()) > before)
		})
	}
}
