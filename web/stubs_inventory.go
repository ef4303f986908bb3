package web

import "github.com/go-chi/chi/v5"

// inventoryAPI registers the inventory API. (Being written.)
func (s *Server) inventoryAPI(r chi.Router) {}
