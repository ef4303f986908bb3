package main

// The comparison server: a minimal equivalent of the gorilla/websocket
// chat example's hub and client as shipped (examples/chat hub.go and
// client.go): a 256-slot send channel per client, 1024-byte buffers, one
// hub goroutine with register/unregister/broadcast channels, and a write
// pump that writes each wake-up's queued messages into one NextWriter
// joined by newlines. Only the page handler is left out.

import (
	"bytes"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

const (
	chatWriteWait      = 10 * time.Second
	chatPongWait       = 60 * time.Second
	chatPingPeriod     = (chatPongWait * 9) / 10
	chatMaxMessageSize = 512
)

var chatNewline = []byte{'\n'}

type chatHub struct {
	clients    map[*chatClient]bool
	broadcast  chan []byte
	register   chan *chatClient
	unregister chan *chatClient
}

func newChatHub() *chatHub {
	return &chatHub{
		broadcast:  make(chan []byte),
		register:   make(chan *chatClient),
		unregister: make(chan *chatClient),
		clients:    make(map[*chatClient]bool),
	}
}

func (h *chatHub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
		case c := <-h.unregister:
			if _, ok := h.clients[c]; ok {
				delete(h.clients, c)
				close(c.send)
			}
		case message := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- message:
				default:
					close(c.send)
					delete(h.clients, c)
				}
			}
		}
	}
}

type chatClient struct {
	hub  *chatHub
	conn *websocket.Conn
	send chan []byte
}

func (c *chatClient) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	c.conn.SetReadLimit(chatMaxMessageSize)
	c.conn.SetReadDeadline(time.Now().Add(chatPongWait))
	c.conn.SetPongHandler(func(string) error { c.conn.SetReadDeadline(time.Now().Add(chatPongWait)); return nil })
	for {
		_, message, err := c.conn.ReadMessage()
		if err != nil {
			break
		}
		message = bytes.TrimSpace(bytes.Replace(message, chatNewline, []byte{' '}, -1))
		c.hub.broadcast <- message
	}
}

func (c *chatClient) writePump() {
	ticker := time.NewTicker(chatPingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case message, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
			if !ok {
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			w, err := c.conn.NextWriter(websocket.TextMessage)
			if err != nil {
				return
			}
			w.Write(message)
			n := len(c.send)
			for i := 0; i < n; i++ {
				w.Write(chatNewline)
				w.Write(<-c.send)
			}
			if err := w.Close(); err != nil {
				return
			}
		case <-ticker.C:
			c.conn.SetWriteDeadline(time.Now().Add(chatWriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

var chatUpgrader = websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 1024}

func serveChatWS(hub *chatHub, w http.ResponseWriter, r *http.Request) {
	conn, err := chatUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	client := &chatClient{hub: hub, conn: conn, send: make(chan []byte, 256)}
	client.hub.register <- client
	go client.writePump()
	go client.readPump()
}

// runChatServer serves the chat hub on ln until the process ends.
func runChatServer(ln net.Listener) error {
	hub := newChatHub()
	go hub.run()
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) { serveChatWS(hub, w, r) })
	return http.Serve(ln, mux)
}
