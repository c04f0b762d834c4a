package main

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"
)

// maxBodyBytes bounds every request body; a bank request is a few hundred bytes.
const maxBodyBytes = 64 << 10

// apiError is an error the client sees as {"code","message"} with an HTTP status.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error makes apiError usable as an error that keeps its status and code.
func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// writeJSON sends v; a marshalling failure cannot happen with the bank's own types,
// but it is still answered as a 500 rather than a half-written body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"internal error"}`)
	}
	writeRaw(w, status, b)
}

// writeRaw sends an already encoded body: idempotent replays must be byte-identical.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeError maps any error to a response. Unknown errors are logged here, once,
// and hidden from the client as a plain 500.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		ae = errorf(http.StatusInternalServerError, "internal", "internal error")
	}
	writeJSON(w, ae.Status, ae)
}

// decodeJSON reads exactly one JSON object of at most maxBodyBytes into dst and
// rejects other content types and unknown fields, so a client typo is a 400 rather
// than a silently ignored field.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if err == nil {
		if err = dec.Decode(&struct{}{}); err == io.EOF {
			return nil
		} else if err == nil {
			return errorf(http.StatusBadRequest, "invalid_json", "body must hold a single JSON object")
		}
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return errorf(http.StatusRequestEntityTooLarge, "body_too_large", "body must not exceed %d bytes", maxBodyBytes)
	case errors.Is(err, io.EOF):
		return errorf(http.StatusBadRequest, "invalid_json", "body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, "invalid_json", "body is not valid JSON")
	case errors.As(err, &typeErr):
		return errorf(http.StatusBadRequest, "invalid_json", "field %q must be a %s", typeErr.Field, typeErr.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return errorf(http.StatusBadRequest, "invalid_json", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return errorf(http.StatusBadRequest, "invalid_json", "body is not a valid request: %s", err.Error())
}

// idEncoding uses lowercase letters and the digits 2-7 only, so ids never contain a
// long run of digits that a card-number scan would mistake for a card.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newID returns prefix + 24 random characters (120 bits).
func newID(prefix string) string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return prefix + idEncoding.EncodeToString(b[:])
}

// statusWriter remembers the status for the access log; Unwrap keeps Hijack
// reachable through http.ResponseController for the drop-reply fault.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first status written.
func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records the implicit 200 of a body written without WriteHeader.
func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the server's writer (for Hijack).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// requestLog writes one line per request. It logs method and path, never bodies,
// so card numbers sent to /v1/tokens cannot reach the log.
func requestLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			reqID := r.Header.Get("X-Request-Id")
			if reqID == "" {
				reqID = newID("req_")
			}
			next.ServeHTTP(sw, r)
			attrs := []any{
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", sw.status),
				slog.Float64("durationMs", float64(time.Since(start).Microseconds())/1000),
				slog.String("requestId", reqID),
			}
			if tp := r.Header.Get("Traceparent"); len(tp) >= 35 {
				attrs = append(attrs, slog.String("traceId", tp[3:35]))
			}
			logger.InfoContext(r.Context(), "request", attrs...)
		})
	}
}
