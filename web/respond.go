package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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

// writeJSONBytes writes a JSON document already encoded.
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
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
// size (413), and otherwise as DecodeStrict.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	return DecodeStrict(r.Body, dst)
}

// strictJSON are the options every request body is decoded with. The
// experimental v2 decoder already matches member names case-sensitively,
// refuses duplicate names and refuses invalid UTF-8 (encoding/json does
// none of these); unknown members are refused here too.
var strictJSON = jsonv2.JoinOptions(jsonv2.RejectUnknownMembers(true))

// DecodeStrict decodes one JSON value from body into dst: member names
// match exactly (`{"NAME":..}` is an unknown field, not "name"), a name
// given twice, invalid UTF-8, unknown fields, numbers that do not fit the
// field (1.0 is not an integer id) and trailing data are refused, each
// with the field at fault named.
func DecodeStrict(body io.Reader, dst any) error {
	if err := jsonv2.UnmarshalRead(body, dst, strictJSON); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonField turns a JSON Pointer ("/servers/0/name") into the field
// notation errors use ("servers[0].name"): a token of digits becomes an
// index "[i]" (request bodies name no member with digits alone; a map key
// that is one reads as an index).
func jsonField(ptr jsontext.Pointer) string {
	var b strings.Builder
	for tok := range ptr.Tokens() {
		if tok != "" && strings.Trim(tok, "0123456789") == "" && (tok == "0" || tok[0] != '0') {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		if tok == "" {
			tok = `""` // a member with an empty name
		}
		b.WriteString(tok)
	}
	return b.String()
}

// jsonError maps a decoding error to a malformed-kind domain error (or
// too large) that names the field, when there is one.
func jsonError(err error) error { return jsonErrorNamed(err, jsonField) }

// jsonErrorNamed is jsonError with the field named by name.
func jsonErrorNamed(err error, name func(jsontext.Pointer) string) error {
	var tooBig *http.MaxBytesError
	var syn *jsontext.SyntacticError
	var sem *jsonv2.SemanticError
	switch {
	case errors.As(err, &tooBig):
		return mailnet.Errorf(mailnet.KindTooLarge, "", "request body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return mailnet.Errorf(mailnet.KindMalformed, "", "request body did not arrive in time")
	case errors.As(err, &syn):
		field := name(syn.JSONPointer)
		switch {
		case errors.Is(syn.Err, io.ErrUnexpectedEOF) && syn.ByteOffset == 0:
			return mailnet.Errorf(mailnet.KindMalformed, "", "request body is empty; a JSON value is required")
		case errors.Is(syn.Err, io.ErrUnexpectedEOF):
			return mailnet.Errorf(mailnet.KindMalformed, "", "request body is cut short: malformed JSON")
		case field == "":
			return mailnet.Errorf(mailnet.KindMalformed, "", "malformed JSON at byte %d: %v", syn.ByteOffset, syn.Err)
		}
		msg := syn.Err.Error()
		switch {
		case strings.Contains(msg, "duplicate"):
			msg = "is given more than once"
		case strings.Contains(msg, "UTF-8"):
			msg = "is not valid UTF-8"
		}
		return mailnet.Errorf(mailnet.KindMalformed, field, "%s %s", field, msg)
	case errors.As(err, &sem):
		field := name(sem.JSONPointer)
		if errors.Is(sem.Err, jsonv2.ErrUnknownName) {
			return mailnet.Errorf(mailnet.KindMalformed, field, "unknown field %q (field names are case-sensitive)", field)
		}
		want := "the right type"
		if sem.GoType != nil {
			want = typeName(sem.GoType.Kind().String())
		}
		got := "JSON " + sem.JSONKind.String()
		if sem.JSONValue != nil {
			got = string(sem.JSONValue)
		}
		if field == "" {
			return mailnet.Errorf(mailnet.KindMalformed, "", "request body must be %s, not %s", want, got)
		}
		if strings.HasPrefix(want, "a number") && sem.JSONKind == '0' {
			want = "an integer"
		}
		return mailnet.Errorf(mailnet.KindMalformed, field, "%s must be %s, not %s", field, want, got)
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
