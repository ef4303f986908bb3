//go:build !linux

package ws

// poller is Linux's epoll (poll_linux.go); elsewhere every connection
// reads with a goroutine.
type poller struct{}

func getPoller() *poller { return nil }

func (*poller) add(*conn) bool { return false }

func (*poller) remove(*conn) {}
