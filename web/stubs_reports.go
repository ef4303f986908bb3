package web

import "github.com/go-chi/chi/v5"

// reportsAPI registers the reports API. (Being written.)
func (s *Server) reportsAPI(r chi.Router) {}
