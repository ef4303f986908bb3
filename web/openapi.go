package web

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.1 description of /api/v1 (web/openapi.json).
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI document served at /api/v1/openapi.json.
func OpenAPI() []byte { return openAPI }

// apiOpenAPI serves the API's OpenAPI document. It is public: it
// describes the contract, not the data, and a client reads it before it
// holds a token.
func (s *Server) apiOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPI)
}
