package ws

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"mailnet/internal/live"
)

// env is an engine behind a real HTTP server, streaming a real hub.
type env struct {
	t   *testing.T
	hub *live.Hub
	e   *Engine
	srv *httptest.Server
}

func newEnv(t *testing.T, opt Options) *env {
	t.Helper()
	hub := live.NewHub()
	e := New(hub, opt, nil)
	up := &websocket.Upgrader{ReadBufferSize: 128, WriteBufferSize: 1024}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred := Cred{Session: r.URL.Query().Get("who")}
		if err := e.Serve(w, r, up, Stream{Cred: cred, Batch: r.URL.Query().Get("batch") == "1"}); err != nil {
			http.Error(w, err.Error(), http.StatusTooManyRequests)
		}
	}))
	t.Cleanup(func() { srv.Close(); hub.Close() })
	return &env{t: t, hub: hub, e: e, srv: srv}
}

func (v *env) dial(who string) *websocket.Conn {
	v.t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(v.srv.URL, "http")+"/?who="+who, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds (or fails the test after a minute).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func jobFrame(seq int, pad string) live.Frame {
	return live.Frame{Type: live.TypeJob, Data: map[string]any{"seq": seq, "pad": pad}}
}

type seqFrame struct {
	Data struct {
		Seq int `json:"seq"`
	} `json:"data"`
}

// A client that stops reading is cut off with a close frame saying why,
// while another keeps receiving every frame in order.
func TestWSSlowReaderIsCutOffWithReasonOthersKeepReceiving(t *testing.T) {
	for _, gr := range []bool{false, true} {
		t.Run(fmt.Sprintf("goroutineReader=%v", gr), func(t *testing.T) {
			v := newEnv(t, Options{Queue: 8, GoroutineReader: gr})
			slow := v.dial("slow")
			fast := v.dial("fast")
			waitFor(t, "two subscribers", func() bool { return v.hub.Stats().Subscribers == 2 })
			const n = 300
			pad := strings.Repeat("x", 32<<10)
			got := make(chan error, 1)
			var read atomic.Int64
			go func() {
				fast.SetReadDeadline(time.Now().Add(time.Minute))
				for i := range n {
					var f seqFrame
					if err := fast.ReadJSON(&f); err != nil {
						got <- fmt.Errorf("frame %d: %w", i, err)
						return
					}
					if f.Data.Seq != i {
						got <- fmt.Errorf("frame %d has seq %d", i, f.Data.Seq)
						return
					}
					read.Add(1)
				}
				got <- nil
			}()
			for i := range n {
				// Paced by the fast reader, so that only the slow one falls
				// a queue behind.
				waitFor(t, "the fast reader", func() bool { return read.Load() >= int64(i-4) })
				v.hub.Publish(jobFrame(i, pad))
			}
			if err := <-got; err != nil {
				t.Fatalf("fast reader: %v", err)
			}
			waitFor(t, "the slow reader cut off", func() bool { return v.hub.Stats().Overflows == 1 })
			slow.SetReadDeadline(time.Now().Add(time.Minute))
			for {
				_, _, err := slow.ReadMessage()
				if err == nil {
					continue // what the kernel buffered before the cut
				}
				var ce *websocket.CloseError
				if !errors.As(err, &ce) {
					t.Fatalf("slow reader ended with %v, want a close frame", err)
				}
				if ce.Code != websocket.CloseTryAgainLater || !strings.Contains(ce.Text, "send queue full") {
					t.Fatalf("close %d %q, want %d with the reason", ce.Code, ce.Text, websocket.CloseTryAgainLater)
				}
				break
			}
			if s := v.hub.Stats(); s.Subscribers != 1 {
				t.Fatalf("%d subscribers, want the fast one only", s.Subscribers)
			}
		})
	}
}

// A client that pings every millisecond while the server writes a large
// backlog receives only well-formed frames, in order, and pongs: pongs
// go through the connection's one writer.
func TestWSPingFloodDuringLargeBacklogGetsWellFormedFrames(t *testing.T) {
	for _, mode := range []struct{ gr, batch bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		gr := mode.gr
		t.Run(fmt.Sprintf("goroutineReader=%v,batch=%v", gr, mode.batch), func(t *testing.T) {
			v := newEnv(t, Options{Queue: 4096, GoroutineReader: gr})
			who := "pinger"
			if mode.batch {
				who += "&batch=1"
			}
			c := v.dial(who)
			waitFor(t, "the subscription", func() bool { return v.hub.Stats().Subscribers == 1 })
			var pongs atomic.Int64
			c.SetPongHandler(func(string) error { pongs.Add(1); return nil })
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
						if c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)) != nil {
							return
						}
					}
				}
			}()
			const n = 2000
			pad := strings.Repeat("y", 8<<10)
			msgs := make([]*live.Msg, 0, 50)
			for i := range n { // a backlog: batches of 50 large frames
				m, err := live.Encode(jobFrame(i, pad))
				if err != nil {
					t.Fatal(err)
				}
				if msgs = append(msgs, m); len(msgs) == 50 {
					v.hub.PublishMsgs(msgs)
					msgs = make([]*live.Msg, 0, 50)
				}
			}
			c.SetReadDeadline(time.Now().Add(time.Minute))
			// next reads one message: a frame, or in batch mode an array of
			// frames (gorilla and the JSON decoder fail on anything malformed).
			messages := 0
			next := func() []seqFrame {
				messages++
				if mode.batch {
					var fs []seqFrame
					if err := c.ReadJSON(&fs); err != nil || len(fs) == 0 {
						t.Fatalf("message %d: %v (%d frames), want a JSON array of frames", messages, err, len(fs))
					}
					return fs
				}
				var f seqFrame
				if err := c.ReadJSON(&f); err != nil {
					t.Fatalf("message %d: %v", messages, err)
				}
				return []seqFrame{f}
			}
			for i := 0; i < n; {
				for _, f := range next() {
					if f.Data.Seq != i {
						t.Fatalf("frame %d has seq %d", i, f.Data.Seq)
					}
					i++
				}
			}
			if mode.batch && messages >= n/50 {
				t.Errorf("batch mode sent %d messages for %d frames published 50 at a time, want fewer than %d", messages, n, n/50)
			}
			// A last frame after the pings that the backlog delayed: their
			// pongs were read on the way.
			v.hub.Publish(jobFrame(n, ""))
			waitFor(t, "a pong", func() bool {
				fs := next()
				return pongs.Load() > 0 || fs[len(fs)-1].Data.Seq >= n
			})
			if pongs.Load() == 0 {
				t.Error("no pong for any of the pings")
			}
		})
	}
}

// rawClient is a websocket client that writes frames byte by byte as the
// test says, to reach the engine's own frame parser (read.go).
type rawClient struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func (v *env) rawDial() *rawClient {
	v.t.Helper()
	nc, err := net.Dial("tcp", strings.TrimPrefix(v.srv.URL, "http://"))
	if err != nil {
		v.t.Fatal(err)
	}
	v.t.Cleanup(func() { nc.Close() })
	fmt.Fprintf(nc, "GET /?who=raw HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(nc)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		v.t.Fatalf("handshake: %v %v", res, err)
	}
	nc.SetDeadline(time.Now().Add(time.Minute))
	return &rawClient{t: v.t, nc: nc, br: br}
}

// frame encodes a client frame: masked unless unmasked.
func frame(fin bool, op byte, payload []byte, unmasked bool) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	out := []byte{b0}
	mbit := byte(0x80)
	if unmasked {
		mbit = 0
	}
	switch n := len(payload); {
	case n < 126:
		out = append(out, mbit|byte(n))
	case n < 1<<16:
		out = append(out, mbit|126, byte(n>>8), byte(n))
	default:
		out = append(out, mbit|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if unmasked {
		return append(out, payload...)
	}
	mask := []byte{0x12, 0x34, 0x56, 0x78}
	out = append(out, mask...)
	for i, c := range payload {
		out = append(out, c^mask[i&3])
	}
	return out
}

// send writes p in pieces of at most chunk bytes, each its own write.
func (r *rawClient) send(p []byte, chunk int) {
	r.t.Helper()
	for len(p) > 0 {
		k := min(chunk, len(p))
		if _, err := r.nc.Write(p[:k]); err != nil {
			r.t.Fatal(err)
		}
		p = p[k:]
	}
}

// next reads one server frame (unmasked) and returns its opcode and payload.
func (r *rawClient) next() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 || h[0]&0x70 != 0 {
		r.t.Fatalf("server frame masked or with reserved bits: %x", h)
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(r.br, b[:])
		n = int(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(r.br, b[:])
		n = int(binary.BigEndian.Uint64(b[:]))
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(r.br, payload)
	return h[0] & 0x0f, payload, err
}

// expectClose reads until the server's close frame and checks its code,
// then expects the server to hang up.
func (r *rawClient) expectClose(code int, reason string) {
	r.t.Helper()
	for {
		op, p, err := r.next()
		if err != nil {
			r.t.Fatalf("no close frame: %v", err)
		}
		if op != websocket.CloseMessage {
			continue
		}
		got := websocket.CloseNoStatusReceived
		if len(p) >= 2 {
			got = int(binary.BigEndian.Uint16(p))
		}
		if got != code || !strings.Contains(string(p[min(2, len(p)):]), reason) {
			r.t.Fatalf("close %d %q, want %d %q", got, p[min(2, len(p)):], code, reason)
		}
		break
	}
	if _, _, err := r.next(); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		r.t.Fatalf("after the close: %v, want the server to hang up", err)
	}
}

func isReset(err error) bool { return err != nil && strings.Contains(err.Error(), "connection reset") }

// The poller reassembles frames split across reads, answers a ping sent
// one byte at a time, between the fragments of a message, and echoes a
// close: it hangs up after its close frame.
func TestWSPolledReaderSplitFramesPingAndClose(t *testing.T) {
	v := newEnv(t, Options{})
	r := v.rawDial()
	var msg []byte
	msg = append(msg, frame(false, websocket.TextMessage, []byte("hello "), false)...)
	msg = append(msg, frame(true, websocket.PingMessage, []byte("are you there"), false)...)
	msg = append(msg, frame(true, 0, []byte("world"), false)...)
	r.send(msg, 1)
	op, p, err := r.next()
	if err != nil || op != websocket.PongMessage || string(p) != "are you there" {
		t.Fatalf("got op %d %q %v, want the pong", op, p, err)
	}
	r.send(frame(true, websocket.CloseMessage, binary.BigEndian.AppendUint16(nil, 1000), false), 3)
	r.expectClose(websocket.CloseNormalClosure, "")
	waitFor(t, "the socket gone", func() bool { return v.e.Stats().Conns == 0 })
}

// A client that breaks the protocol gets a close frame naming why, from
// the connection's writer, and the socket ends.
func TestWSPolledReaderProtocolErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		frames []byte
		code   int
		reason string
	}{
		{"unmasked", frame(true, websocket.TextMessage, []byte("x"), true), websocket.CloseProtocolError, "not masked"},
		{"too big", frame(true, websocket.BinaryMessage, make([]byte, readLimit+1), false), websocket.CloseMessageTooBig, "too big"},
		{"too big in fragments", append(frame(false, websocket.TextMessage, make([]byte, 300), false),
			frame(true, 0, make([]byte, 300), false)...), websocket.CloseMessageTooBig, "too big"},
		{"long ping", frame(true, websocket.PingMessage, make([]byte, 126), false), websocket.CloseProtocolError, "control"},
		{"fragmented ping", frame(false, websocket.PingMessage, nil, false), websocket.CloseProtocolError, "control"},
		{"bare continuation", frame(true, 0, []byte("x"), false), websocket.CloseProtocolError, "continuation"},
		{"unknown opcode", frame(true, 5, nil, false), websocket.CloseProtocolError, "opcode"},
		{"reserved bits", func() []byte { f := frame(true, websocket.TextMessage, []byte("x"), false); f[0] |= 0x40; return f }(),
			websocket.CloseProtocolError, "reserved"},
		{"bad close code", frame(true, websocket.CloseMessage, binary.BigEndian.AppendUint16(nil, 1005), false), websocket.CloseProtocolError, "close"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := newEnv(t, Options{CloseWait: 300 * time.Millisecond})
			r := v.rawDial()
			r.send(c.frames, 7) // the server must not hang up while the rest is sent
			r.expectClose(c.code, c.reason)
			waitFor(t, "the socket gone", func() bool { return v.e.Stats().Conns == 0 })
		})
	}
}

// A polled socket has no read deadline: a client silent for PongWait is
// dropped by the engine's reaper, while one that answers pings stays and
// keeps receiving.
func TestWSPolledSilentClientIsDropped(t *testing.T) {
	v := newEnv(t, Options{PingInterval: 20 * time.Millisecond, PongWait: 100 * time.Millisecond})
	silent := v.rawDial() // never answers the pings
	live := v.dial("live")
	got := make(chan error, 1)
	go func() { // reading makes gorilla answer the pings
		live.SetReadDeadline(time.Now().Add(time.Minute))
		var f seqFrame
		got <- live.ReadJSON(&f)
	}()
	waitFor(t, "two sockets", func() bool { return v.e.Stats().Conns == 2 })
	for {
		op, _, err := silent.next()
		if err != nil {
			break // dropped: the server hung up
		}
		if op != websocket.PingMessage {
			t.Fatalf("silent client got op %d", op)
		}
	}
	waitFor(t, "one socket left", func() bool { return v.e.Stats().Conns == 1 })
	v.hub.Publish(jobFrame(1, ""))
	if err := <-got; err != nil {
		t.Fatalf("the answering client lost its stream: %v", err)
	}
}
