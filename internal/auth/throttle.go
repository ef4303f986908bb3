package auth

import (
	"container/list"
	"sync"
	"time"
)

// Throttle counts failures per key in a fixed window and refuses a key once
// it reaches the limit, until its window ends.
//
// Memory is bounded: it is an LRU of at most Cap keys. Adding a key to a
// full throttle evicts the least recently failed one. An attacker who
// floods it with fresh keys can push out an old key's count, but only by
// spending Cap failures, each of which costs them (and each address has its
// own throttle too).
type Throttle struct {
	Limit  int           // failures allowed per window
	Window time.Duration // how long a window lasts from its first failure
	Cap    int           // keys remembered at most

	mu    sync.Mutex
	ll    *list.List // front: most recent failure
	items map[string]*list.Element
}

type throttleEntry struct {
	key   string
	start time.Time // first failure of the window
	count int
}

// NewThrottle returns a throttle of limit failures per window, remembering
// at most cap keys.
func NewThrottle(limit int, window time.Duration, cap int) *Throttle {
	return &Throttle{Limit: limit, Window: window, Cap: max(1, cap), ll: list.New(), items: map[string]*list.Element{}}
}

// Allowed reports whether key may try again at now, and if not, how long
// until it may.
func (t *Throttle) Allowed(key string, now time.Time) (bool, time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	el, ok := t.items[key]
	if !ok {
		return true, 0
	}
	e := el.Value.(*throttleEntry)
	end := e.start.Add(t.Window)
	if !now.Before(end) {
		t.remove(el)
		return true, 0
	}
	if e.count >= t.Limit {
		return false, end.Sub(now)
	}
	return true, 0
}

// Fail records one failure of key at now.
func (t *Throttle) Fail(key string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.items[key]; ok {
		e := el.Value.(*throttleEntry)
		if !now.Before(e.start.Add(t.Window)) {
			e.start, e.count = now, 0
		}
		e.count++
		t.ll.MoveToFront(el)
		return
	}
	for t.ll.Len() >= t.Cap {
		t.remove(t.ll.Back())
	}
	t.items[key] = t.ll.PushFront(&throttleEntry{key: key, start: now, count: 1})
}

// Reset forgets key's failures (after a successful sign-in).
func (t *Throttle) Reset(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if el, ok := t.items[key]; ok {
		t.remove(el)
	}
}

// Len is how many keys are remembered.
func (t *Throttle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ll.Len()
}

func (t *Throttle) remove(el *list.Element) {
	t.ll.Remove(el)
	delete(t.items, el.Value.(*throttleEntry).key)
}
