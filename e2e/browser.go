// Package e2e holds the browser tests: real Chromium, driven from Go with
// chromedp, against the real console on a real SQLite file.
package e2e
