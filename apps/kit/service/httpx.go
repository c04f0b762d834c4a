package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
)

// MaxBodyBytes is the largest request body any endpoint accepts.
const MaxBodyBytes = 64 << 10

// Error is an error a client can act on: it carries the HTTP status and the machine-readable
// code of the {"code","message"} body.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError maps err to a response: an *Error is shown to the client as it is; anything
// else is logged once and answered with a 500 that leaks nothing.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *Error
	if errors.As(err, &e) {
		WriteJSON(w, e.Status, map[string]string{"code": e.Code, "message": e.Message})
		return
	}
	log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	WriteJSON(w, http.StatusInternalServerError, map[string]string{"code": "internal", "message": "internal error; try again later"})
}

// HandlerFunc is a handler that returns its error instead of writing it, so every error of
// a service is answered in one place (Handle, WriteError).
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h to an http.HandlerFunc: an error h returns is written by WriteError (an
// *Error as it is, anything else a logged 500). h must not have written a response when it
// returns an error.
func Handle(log *slog.Logger, h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, log, err)
		}
	}
}

// DecodeJSON reads a JSON request body into dst: it must be declared as JSON, be at most
// MaxBodyBytes, hold exactly one JSON value and no field dst does not know.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json")
		}
	} else {
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json")
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return decodeError(err)
		}
		return Errorf(http.StatusBadRequest, "malformed_json", "the body must hold a single JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var (
		tooBig    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooBig):
		return Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than %d bytes", MaxBodyBytes)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, "malformed_json", "the body is not valid JSON")
	case errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, "malformed_json", "the body is empty")
	case errors.As(err, &typeErr):
		return Errorf(http.StatusBadRequest, "invalid_field", "field %q has the wrong type", typeErr.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return Errorf(http.StatusBadRequest, "unknown_field", "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return Errorf(http.StatusBadRequest, "malformed_json", "the body is not valid JSON")
	}
}
