package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"mailnet/internal/mailnet"
)

// pageRoutes registers the pages. (Being written.)
func (s *Server) pageRoutes(r chi.Router) {}

// errorPage renders an error for a browser. (Being written.)
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, e *mailnet.Error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(e.Error()))
}
