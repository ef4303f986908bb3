//go:build !unix

package web

// tryWrite takes nothing where raw non-blocking writes are not wired up:
// every write goes through the connection's own goroutine.
func (c *wsClient) tryWrite(b []byte) (int, error) { return 0, nil }
