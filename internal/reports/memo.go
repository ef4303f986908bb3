package reports

import (
	"context"
	"fmt"
	"sync"

	"golang.org/x/sync/singleflight"

	"mailnet/internal/store"
)

// Memo holds one value built from the store, keyed by the store's write
// version (store.Version), for a read model whose answer does not depend
// on the request: a request after a write always gets a fresh build, and
// concurrent requests at one version share a single build. It is the
// one-entry form of ServerReportCache, for the duplicate-serial detector
// and the like.
type Memo[T any] struct {
	st        *store.Store
	versionOf func() uint64 // st.Version, or st.InventoryVersion
	build     func(context.Context) (T, error)
	group     singleflight.Group

	mu      sync.Mutex
	version uint64
	ok      bool
	val     T
}

// NewMemo returns a Memo of build over st.
func NewMemo[T any](st *store.Store, build func(context.Context) (T, error)) *Memo[T] {
	return &Memo[T]{st: st, versionOf: st.Version, build: build}
}

// NewInventoryMemo is NewMemo keyed by st.InventoryVersion, for a read
// model of the configuration alone (it reads no event, no server's last
// event, no requestor's numbers): a stream of events leaves it built.
func NewInventoryMemo[T any](st *store.Store, build func(context.Context) (T, error)) *Memo[T] {
	return &Memo[T]{st: st, versionOf: st.InventoryVersion, build: build}
}

// Get returns the value built at the current version, building it if
// none is held.
func (m *Memo[T]) Get(ctx context.Context) (T, error) {
	v := m.versionOf() // before any read: what is served is at least this new
	m.mu.Lock()
	if m.ok && m.version == v {
		val := m.val
		m.mu.Unlock()
		return val, nil
	}
	m.mu.Unlock()
	ch := startShared(ctx, &m.group, fmt.Sprint(v), "memo", func(bctx context.Context) (T, error) {
		val, err := m.build(bctx)
		if err != nil {
			return val, err
		}
		m.mu.Lock()
		if !m.ok || v >= m.version {
			m.version, m.val, m.ok = v, val, true
		}
		m.mu.Unlock()
		return val, nil
	})
	return awaitShared[T](ctx, ch)
}
