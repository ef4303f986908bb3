package auth

import (
	"container/list"
	"sync"
	"time"
)

// LoginLimits are the rules of a LoginLimiter.
//
// Why these three bounds, and not one lockout per name: a lockout per name
// lets anyone lock the real owner out from everywhere by typing wrong
// passwords for her name. Here the tight bound is per (name, address)
// pair, with exponential backoff: the pair that guesses is slowed, and the
// owner at another address is not. A looser bound per name stops a guesser
// who spreads over many addresses, and it does not apply to a pair that
// has signed in successfully before (the owner's usual address), so even a
// distributed attack does not lock her out from there; that pair still
// has its own backoff. A bound per address stops one client guessing over
// many names. Every bound counts attempts in flight as well as failures,
// so parallel guesses cannot slip past a check made before the hash.
type LoginLimits struct {
	PairFree    int           // failures a (name, address) pair may make before backoff
	PairBackoff time.Duration // wait after failure PairFree, doubling with each further one
	PairMaxWait time.Duration // the longest backoff; a pair quiet for twice this is forgotten
	NameLimit   int           // failures per name per Window, all addresses together
	AddrLimit   int           // failures per address per Window, all names together
	Window      time.Duration // the fixed window of NameLimit and AddrLimit, from its first failure
	Cap         int           // keys each table remembers at most (LRU)
	KnownFor    time.Duration // how long a successful pair stays exempt from NameLimit
}

// DefaultLoginLimits: 5 guesses per name and address, then 30 s, 1 min,
// 2 min ... up to 15 min between guesses; 20 failures per name and 20 per
// address in 15 minutes.
var DefaultLoginLimits = LoginLimits{
	PairFree: 5, PairBackoff: 30 * time.Second, PairMaxWait: 15 * time.Minute,
	NameLimit: 20, AddrLimit: 20, Window: 15 * time.Minute,
	Cap: 10000, KnownFor: 30 * 24 * time.Hour,
}

// LoginLimiter decides which sign-in attempts may verify a password. An
// attempt is reserved (Reserve) before the password hash and settled
// (Fail, Succeed or Cancel) after it.
//
// Memory is bounded: each table is an LRU of at most Cap keys, and adding
// a key to a full table evicts the least recently used one. An attacker
// who floods a table with fresh keys to push an old key out spends an
// attempt on each, under the bound of its address.
type LoginLimiter struct {
	lim LoginLimits

	mu    sync.Mutex
	pairs *lru // name "\x00" address
	names *lru
	addrs *lru
	known *lru // pairs that signed in; entry.last is when
}

// NewLoginLimiter returns a limiter with limits lim.
func NewLoginLimiter(lim LoginLimits) *LoginLimiter {
	lim.Cap = max(1, lim.Cap)
	return &LoginLimiter{lim: lim, pairs: newLRU(lim.Cap), names: newLRU(lim.Cap), addrs: newLRU(lim.Cap), known: newLRU(lim.Cap)}
}

// Refusal says which bound refused an attempt and how long until it may
// be tried again.
type Refusal struct {
	By   string // "address", "name" or "name and address"
	Wait time.Duration
}

// Attempt is a reserved sign-in attempt. Settle it exactly once.
type Attempt struct {
	l          *LoginLimiter
	name, addr string
	done       bool
}

func pairKey(name, addr string) string { return name + "\x00" + addr }

// Reserve reserves an attempt for name (already folded as lookups fold
// it) from addr at now. With name "" only the address bound applies (for
// sign-ins without a name, such as a NOC token). It returns nil and the
// refusal when a bound is reached, counting the attempts still in flight.
func (l *LoginLimiter) Reserve(name, addr string, now time.Time) (*Attempt, Refusal) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.addrs.peek(addr)
	if a != nil {
		a.expireWindow(now, l.lim.Window)
		if a.fails+a.inflight >= l.lim.AddrLimit {
			return nil, Refusal{By: "address", Wait: a.windowLeft(now, l.lim.Window)}
		}
	}
	var p, n *entry
	if name != "" {
		pk := pairKey(name, addr)
		if p = l.pairs.peek(pk); p != nil {
			if p.inflight == 0 && !now.Before(p.last.Add(2*l.lim.PairMaxWait)) {
				p.fails = 0
			}
			if p.fails+p.inflight >= l.lim.PairFree {
				next := p.last.Add(l.backoff(p.fails))
				if p.inflight > 0 || now.Before(next) {
					return nil, Refusal{By: "name and address", Wait: max(time.Second, next.Sub(now))}
				}
			}
		}
		if n = l.names.peek(name); n != nil {
			n.expireWindow(now, l.lim.Window)
			if n.fails+n.inflight >= l.lim.NameLimit && !l.isKnown(pk, now) {
				return nil, Refusal{By: "name", Wait: n.windowLeft(now, l.lim.Window)}
			}
		}
	}
	l.addrs.get(addr).inflight++
	if name != "" {
		l.pairs.get(pairKey(name, addr)).inflight++
		l.names.get(name).inflight++
	}
	return &Attempt{l: l, name: name, addr: addr}, Refusal{}
}

// backoff is the wait after a pair's fails-th failure, fails >= PairFree.
func (l *LoginLimiter) backoff(fails int) time.Duration {
	d := l.lim.PairBackoff
	for i := l.lim.PairFree; i < fails && d < l.lim.PairMaxWait; i++ {
		d *= 2
	}
	return min(d, l.lim.PairMaxWait)
}

func (l *LoginLimiter) isKnown(pk string, now time.Time) bool {
	k := l.known.peek(pk)
	return k != nil && now.Before(k.last.Add(l.lim.KnownFor))
}

// Fail settles the attempt as a wrong password at now.
func (at *Attempt) Fail(now time.Time) {
	at.settle(func(l *LoginLimiter) {
		l.addrs.get(at.addr).fail(now, l.lim.Window)
		if at.name != "" {
			l.pairs.get(pairKey(at.name, at.addr)).fail(now, l.lim.Window)
			l.names.get(at.name).fail(now, l.lim.Window)
		}
	})
}

// Succeed settles the attempt as a sign-in at now: the pair's failures
// are forgotten and the pair becomes known (exempt from the name bound).
// The name's and the address's failures stay counted: they may be
// someone else's.
func (at *Attempt) Succeed(now time.Time) {
	at.settle(func(l *LoginLimiter) {
		if at.name != "" {
			pk := pairKey(at.name, at.addr)
			l.pairs.drop(pk)
			l.known.get(pk).last = now
		}
	})
}

// Cancel settles an attempt whose password was never checked (the client
// went away while waiting for a hash slot): it counts for nothing.
func (at *Attempt) Cancel() { at.settle(func(*LoginLimiter) {}) }

func (at *Attempt) settle(fn func(l *LoginLimiter)) {
	l := at.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if at.done {
		return
	}
	at.done = true
	release := func(t *lru, key string) {
		if e := t.peek(key); e != nil && e.inflight > 0 {
			e.inflight--
		}
	}
	release(l.addrs, at.addr)
	if at.name != "" {
		release(l.pairs, pairKey(at.name, at.addr))
		release(l.names, at.name)
	}
	fn(l)
}

// Len is how many keys the limiter remembers in all.
func (l *LoginLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pairs.ll.Len() + l.names.ll.Len() + l.addrs.ll.Len() + l.known.ll.Len()
}

type entry struct {
	key      string
	start    time.Time // first failure of the fixed window (names, addresses)
	last     time.Time // last failure (pairs), or last sign-in (known pairs)
	fails    int
	inflight int
}

func (e *entry) expireWindow(now time.Time, w time.Duration) {
	if !e.start.IsZero() && !now.Before(e.start.Add(w)) {
		e.start, e.fails = time.Time{}, 0
	}
}

func (e *entry) windowLeft(now time.Time, w time.Duration) time.Duration {
	if e.start.IsZero() {
		return w // refused for attempts in flight, before any failure
	}
	return max(time.Second, e.start.Add(w).Sub(now))
}

func (e *entry) fail(now time.Time, w time.Duration) {
	e.expireWindow(now, w)
	if e.start.IsZero() {
		e.start = now
	}
	e.fails++
	e.last = now
}

// lru is a map bounded to cap keys, evicting the least recently used.
type lru struct {
	cap   int
	ll    *list.List // front: most recently used
	items map[string]*list.Element
}

func newLRU(cap int) *lru { return &lru{cap: cap, ll: list.New(), items: map[string]*list.Element{}} }

// peek returns key's entry, or nil, marking it used.
func (t *lru) peek(key string) *entry {
	el, ok := t.items[key]
	if !ok {
		return nil
	}
	t.ll.MoveToFront(el)
	return el.Value.(*entry)
}

// get returns key's entry, adding it (and evicting the least recently
// used key of a full table) if needed.
func (t *lru) get(key string) *entry {
	if e := t.peek(key); e != nil {
		return e
	}
	for t.ll.Len() >= t.cap {
		back := t.ll.Back()
		t.ll.Remove(back)
		delete(t.items, back.Value.(*entry).key)
	}
	e := &entry{key: key}
	t.items[key] = t.ll.PushFront(e)
	return e
}

func (t *lru) drop(key string) {
	if el, ok := t.items[key]; ok {
		t.ll.Remove(el)
		delete(t.items, key)
	}
}
