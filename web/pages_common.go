package web

import (
	"context"
	"net/http"

	"github.com/a-h/templ"

	"mailnet/internal/mailnet"
	"mailnet/internal/reports"
	"mailnet/web/views"
)

// isFragment reports whether r is an htmx request for a fragment (not a
// boosted navigation, which wants the whole page).
func isFragment(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" &&
		r.Header.Get("HX-History-Restore-Request") != "true"
}

// pageFor fills the layout's view of the request: who is signed in and the
// duplicate-serial count for the navigation badge.
func (s *Server) pageFor(ctx context.Context, title, active string) views.Page {
	p := pageWithoutCount(ctx, title, active)
	if c, err := reports.LoadConflicts(ctx, s.store); err == nil {
		p.DuplicateGroups = c.Groups
	} else {
		s.log.WarnContext(ctx, "duplicate count for navigation", "err", err)
	}
	return p
}

// pageWithoutCount is pageFor for a handler that already knows the
// duplicate-serial count and sets it.
func pageWithoutCount(ctx context.Context, title, active string) views.Page {
	p := views.Page{Title: title, Active: active}
	if pr := mailnet.PrincipalFrom(ctx); pr != nil {
		p.User = pr.Name
		p.Role = string(pr.Role)
	}
	return p
}

// pageHeaders sets what every HTML response carries: the type, no caching
// (admin data must not linger in shared or back-button caches), and Vary
// for the fragment/full-page split.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "HX-Request")
}

// render writes the full page p around body with status, streaming straight
// to the client.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, p views.Page, body templ.Component) {
	pageHeaders(w)
	w.WriteHeader(status)
	if err := views.Layout(p, body).Render(r.Context(), w); err != nil {
		s.log.WarnContext(r.Context(), "render page", "path", r.URL.Path, "err", err)
	}
}

// renderFragment writes only c: the answer to an htmx request.
func (s *Server) renderFragment(w http.ResponseWriter, r *http.Request, c templ.Component) {
	pageHeaders(w)
	w.WriteHeader(http.StatusOK)
	if err := c.Render(r.Context(), w); err != nil {
		s.log.WarnContext(r.Context(), "render fragment", "path", r.URL.Path, "err", err)
	}
}

// errorPage renders an error for a browser: the status, the safe message,
// the field at fault and a way back.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, e *mailnet.Error) {
	back := backLink(r)
	p := views.Page{Title: http.StatusText(status), Active: ""}
	if pr := mailnet.PrincipalFrom(r.Context()); pr != nil {
		p.User = pr.Name
		p.Role = string(pr.Role)
	}
	p.NoHeading = true
	pageHeaders(w)
	w.WriteHeader(status)
	if err := views.Layout(p, views.ErrorBody(status, http.StatusText(status), e.Message, e.Field, back)).Render(r.Context(), w); err != nil {
		s.log.WarnContext(r.Context(), "render error page", "err", err)
	}
}
