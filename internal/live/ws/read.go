package ws

import (
	"encoding/binary"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// readChunk is what one non-blocking read takes from a polled socket.
const readChunk = 1024

// What a client may send is only pings, pongs, a close and small
// messages that are read and dropped; readFrames parses them (RFC 6455
// section 5) from bytes a polled socket delivered. A frame split across
// reads is kept in c.partial (at most one frame header and readLimit
// bytes) until the rest comes. Every answer, a pong, a close echo or a
// protocol error's close, is a request to the connection's one writer:
// the reader never writes (gorilla's own reader writes the close frames
// of its protocol errors itself).
//
// false: the connection ended or is closing (nothing more is read).
func (c *conn) readFrames(p []byte) bool {
	if len(c.partial) > 0 {
		c.partial = append(c.partial, p...)
		p = c.partial
	}
	for len(p) > 0 {
		n, ok := c.frame(p)
		if !ok {
			c.partial = nil
			return false
		}
		if n == 0 { // incomplete: keep the rest for the next read
			if len(p) > maxFrameLen {
				c.protocolError(websocket.CloseMessageTooBig, "message too big")
				return false
			}
			c.partial = append(c.partial[:0:0], p...)
			return true
		}
		p = p[n:]
	}
	c.partial = nil
	return true
}

// maxFrameLen is the most a whole client frame may take: the longest
// header and readLimit bytes.
const maxFrameLen = 14 + readLimit

// frame handles the frame at the start of p and returns its length; 0
// when p holds only part of it. false: the connection ends.
func (c *conn) frame(p []byte) (int, bool) {
	if len(p) < 2 {
		return 0, true
	}
	b0, b1 := p[0], p[1]
	fin, rsv, op := b0&0x80 != 0, b0&0x70, int(b0&0x0f)
	masked, n := b1&0x80 != 0, int64(b1&0x7f)
	h := 2
	switch n {
	case 126:
		if len(p) < 4 {
			return 0, true
		}
		n, h = int64(binary.BigEndian.Uint16(p[2:])), 4
	case 127:
		if len(p) < 10 {
			return 0, true
		}
		n, h = int64(binary.BigEndian.Uint64(p[2:])), 10
	}
	switch {
	case rsv != 0:
		return c.protocolError(websocket.CloseProtocolError, "reserved bits set")
	case !masked:
		return c.protocolError(websocket.CloseProtocolError, "client frame not masked")
	case op >= 8 && (!fin || n > 125):
		return c.protocolError(websocket.CloseProtocolError, "bad control frame")
	case op > 10 || (op > 2 && op < 8):
		return c.protocolError(websocket.CloseProtocolError, "unknown opcode")
	case op == 0 && !c.fragmented:
		return c.protocolError(websocket.CloseProtocolError, "continuation without a message")
	case (op == 1 || op == 2) && c.fragmented:
		return c.protocolError(websocket.CloseProtocolError, "message inside a fragmented message")
	case n < 0 || n > readLimit || (op < 8 && int64(c.msgLen)+n > readLimit):
		return c.protocolError(websocket.CloseMessageTooBig, "message too big")
	}
	total := h + 4 + int(n)
	if len(p) < total {
		return 0, true
	}
	c.lastRead.Store(time.Now().UnixNano())
	if c.readClosed() {
		return total, true // after the client's close, nothing counts
	}
	if op < 8 { // a message's data, dropped
		c.msgLen += int(n)
		c.fragmented = !fin
		if fin {
			c.msgLen = 0
		}
		return total, true
	}
	payload := make([]byte, n)
	mask := p[h : h+4]
	for i := range payload {
		payload[i] = p[h+4+i] ^ mask[i&3]
	}
	switch op {
	case websocket.PingMessage:
		c.request(ctl{pong: payload, hasPong: true})
	case websocket.CloseMessage:
		code := websocket.CloseNoStatusReceived
		switch {
		case n == 1:
			return c.protocolError(websocket.CloseProtocolError, "bad close frame")
		case n >= 2:
			code = int(binary.BigEndian.Uint16(payload))
			if !validCloseCode(code) || !utf8.Valid(payload[2:]) {
				return c.protocolError(websocket.CloseProtocolError, "bad close frame")
			}
		}
		c.onClose(code, "")
		c.readStopped()
		return total, false
	}
	return total, true // a pong: lastRead moved
}

// protocolError asks the writer to close with code and reason.
func (c *conn) protocolError(code int, reason string) (int, bool) {
	c.mu.Lock()
	c.peerClosed, c.brokeProtocol = true, true // read nothing more
	c.mu.Unlock()
	c.request(ctl{close: &closeReq{code: code, reason: reason}})
	c.readStopped()
	return 0, false
}

// validCloseCode reports whether a client may send code (RFC 6455 7.4).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011, code >= 3000 && code <= 4999:
		return true
	}
	return false
}
