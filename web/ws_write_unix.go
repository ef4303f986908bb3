//go:build unix

package web

import (
	"errors"
	"syscall"
)

// tryWrite writes b to the socket without waiting: it returns how much
// the kernel took (less than len(b) when the socket buffer is full).
func (c *wsClient) tryWrite(b []byte) (int, error) {
	if c.rc == nil {
		return 0, nil
	}
	n := 0
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			if m > 0 {
				n += m
			}
			switch {
			case err == nil:
				if m <= 0 {
					return true
				}
			case errors.Is(err, syscall.EINTR):
			case errors.Is(err, syscall.EAGAIN):
				return true
			default:
				werr = err
				return true
			}
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}
