package web

import "github.com/go-chi/chi/v5"

// authRoutes registers sign-in, tokens and the audit log. (Being written.)
func (s *Server) authRoutes(r chi.Router) {}
