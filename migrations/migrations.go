// Package migrations holds the numbered SQL files that build the Mailnet
// Admin schema. They are embedded here because //go:embed cannot reach a
// parent directory; internal/store applies them.
package migrations

import "embed"

// FS holds every migration, named NNNN_description.sql.
//
//go:embed *.sql
var FS embed.FS
