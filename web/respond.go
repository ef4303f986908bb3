package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"mailnet/internal/mailnet"
)

type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// statusOf maps a domain error kind to its HTTP status.
func statusOf(k mailnet.Kind) int {
	switch k {
	case mailnet.KindMalformed:
		return http.StatusBadRequest
	case mailnet.KindUnauthorized:
		return http.StatusUnauthorized
	case mailnet.KindForbidden:
		return http.StatusForbidden
	case mailnet.KindNotFound:
		return http.StatusNotFound
	case mailnet.KindConflict:
		return http.StatusConflict
	case mailnet.KindTooLarge:
		return http.StatusRequestEntityTooLarge
	case mailnet.KindInvalid:
		return http.StatusUnprocessableEntity
	case mailnet.KindTooMany:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// wantsJSON reports whether the response to r should be JSON rather than a
// page: API paths, and clients that ask for JSON.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") ||
		strings.Contains(r.Header.Get("Accept"), "application/json")
}

// error writes err for the user: a domain error's safe message and field,
// or a generic message for anything else (whose detail goes to the log).
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := mailnet.AsError(err)
	if !ok {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &mailnet.Error{Kind: mailnet.KindInternal, Message: "internal error; the log has the details"}
	}
	status := statusOf(e.Kind)
	if wantsJSON(r) {
		writeJSON(w, status, errorBody{Error: e.Message, Field: e.Field})
		return
	}
	s.errorPage(w, r, status, e)
}

// errorStatus writes a refusal that no domain error kind names (405,
// 421): msg as JSON for the API and JSON clients, the error page otherwise.
func (s *Server) errorStatus(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if wantsJSON(r) {
		writeJSON(w, status, errorBody{Error: msg})
		return
	}
	s.errorPage(w, r, status, &mailnet.Error{Message: msg})
}

// backLink is where the error page's Back link points: the page the
// browser came from when that is a path on this console, else the Global
// Server Report. It is always a path, never another site.
func backLink(r *http.Request) string {
	p := localPath(sameOriginPath(r.Header.Get("Referer"), r))
	if p == "/" {
		return "/servers"
	}
	return p
}

// decodeJSON reads r's body into dst strictly: at most the configured
// size (413), no unknown fields, nothing after the value, and errors that
// name the field at fault.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	return DecodeStrict(r.Body, dst)
}

// DecodeStrict decodes one JSON value from body into dst, refusing unknown
// fields and trailing data, with errors that name the field at fault.
func DecodeStrict(body io.Reader, dst any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err)
		}
		return mailnet.Errorf(mailnet.KindMalformed, "", "request body has data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return mailnet.Errorf(mailnet.KindTooLarge, "", "request body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return mailnet.Errorf(mailnet.KindMalformed, "", "request body is empty; a JSON value is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return mailnet.Errorf(mailnet.KindMalformed, "", "request body is cut short: malformed JSON")
	case errors.As(err, &syntax):
		return mailnet.Errorf(mailnet.KindMalformed, "", "malformed JSON at byte %d: %v", syntax.Offset, syntax)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return mailnet.Errorf(mailnet.KindMalformed, "", "request body must be a JSON %s, not %s", typeName(typ.Type.Kind().String()), typ.Value)
		}
		return mailnet.Errorf(mailnet.KindMalformed, field, "%s must be %s, not %s", field, typeName(typ.Type.Kind().String()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return mailnet.Errorf(mailnet.KindMalformed, field, "unknown field %q", field)
	}
	return mailnet.Errorf(mailnet.KindMalformed, "", "malformed JSON: %v", err)
}

func typeName(kind string) string {
	switch kind {
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return fmt.Sprintf("a %s", kind)
}
