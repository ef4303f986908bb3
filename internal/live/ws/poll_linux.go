//go:build linux

package ws

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// poller waits for every polled socket to become readable with one epoll
// instance, itself waited for by the runtime's network poller: an idle
// socket costs no goroutine and no read buffer. Each socket is armed
// one-shot; the poller's goroutine reads what arrived without blocking,
// hands the frames to the connection (readFrames), and arms it again.
type poller struct {
	ep  *os.File // the epoll instance, non-blocking, in the runtime's poller
	raw syscall.RawConn

	mu    sync.Mutex
	conns map[int32]*conn
}

var (
	pollOnce sync.Once
	thePoll  *poller
)

// getPoller returns the process's poller, started on first use; nil when
// epoll is not available (the connections then read with a goroutine).
func getPoller() *poller {
	pollOnce.Do(func() {
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			return
		}
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fd)
			return
		}
		f := os.NewFile(uintptr(fd), "epoll")
		raw, err := f.SyscallConn()
		if err != nil {
			f.Close()
			return
		}
		p := &poller{ep: f, raw: raw, conns: map[int32]*conn{}}
		go p.run()
		thePoll = p
	})
	return thePoll
}

const pollEvents = unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT

func (p *poller) ctl(op int, fd int32) error {
	var err error
	cerr := p.raw.Control(func(ep uintptr) {
		ev := unix.EpollEvent{Events: pollEvents, Fd: fd}
		err = unix.EpollCtl(int(ep), op, int(fd), &ev)
	})
	if cerr != nil {
		return cerr
	}
	return err
}

// socketFD returns nc's descriptor, or false when nc has none (the
// connection then reads with a goroutine).
func socketFD(nc net.Conn) (int32, bool) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, false
	}
	fd := int32(-1)
	if raw.Control(func(f uintptr) { fd = int32(f) }) != nil || fd < 0 {
		return 0, false
	}
	return fd, true
}

// add starts watching c's socket; false: c must read with a goroutine.
func (p *poller) add(c *conn) bool {
	fd, ok := socketFD(c.bc.Conn)
	if !ok {
		return false
	}
	p.mu.Lock()
	p.conns[fd] = c
	p.mu.Unlock()
	c.fd = fd
	if p.ctl(unix.EPOLL_CTL_ADD, fd) != nil {
		p.mu.Lock()
		delete(p.conns, fd)
		p.mu.Unlock()
		c.fd = -1
		return false
	}
	return true
}

// remove stops watching c's socket; call it before the socket closes, so
// that its descriptor, reused, cannot reach c.
func (p *poller) remove(c *conn) {
	p.mu.Lock()
	if p.conns[c.fd] == c {
		delete(p.conns, c.fd)
		_ = p.ctl(unix.EPOLL_CTL_DEL, c.fd)
	}
	p.mu.Unlock()
}

// run waits for readable sockets until the epoll instance fails (it
// never closes): each wait parks in the runtime's poller, and a batch of
// ready sockets is read one after the other.
func (p *poller) run() {
	events := make([]unix.EpollEvent, 128)
	var buf [readChunk]byte
	for {
		var n int
		var werr error
		err := p.raw.Read(func(ep uintptr) bool {
			n, werr = unix.EpollWait(int(ep), events, 0)
			if werr == unix.EINTR {
				return false
			}
			return werr != nil || n > 0 // none ready: park until the epoll fd is readable
		})
		if err != nil || (werr != nil && werr != unix.EINTR) {
			return // the epoll instance failed: new sockets fall back (see add)
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c == nil {
				continue // removed since: its socket is closing
			}
			if c.readReady(buf[:]) {
				p.mu.Lock()
				if p.conns[ev.Fd] == c {
					_ = p.ctl(unix.EPOLL_CTL_MOD, ev.Fd)
				}
				p.mu.Unlock()
			}
		}
	}
}

// readReady reads, without blocking, what c's socket holds and hands it
// to readFrames; false: the connection ended (nothing to arm again).
func (c *conn) readReady(buf []byte) bool {
	sc, ok := c.bc.Conn.(syscall.Conn)
	if !ok {
		c.shutdown()
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		c.shutdown()
		return false
	}
	// A bounded number of reads per wake-up: a client that floods is read
	// on the next one, after the other ready sockets.
	for range 4 {
		var n int
		var rerr error
		if err := raw.Read(func(fd uintptr) bool {
			n, rerr = unix.Read(int(fd), buf)
			return true // never wait: epoll says when there is more
		}); err != nil {
			c.shutdown()
			return false
		}
		if errors.Is(rerr, unix.EAGAIN) || errors.Is(rerr, unix.EINTR) {
			return true
		}
		if rerr != nil || n == 0 { // reset, or the client hung up
			c.shutdown()
			return false
		}
		if !c.readFrames(buf[:n]) {
			return false
		}
		if n < len(buf) {
			return true
		}
	}
	return true
}
