package reports

import (
	"bytes"
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"mailnet/internal/store"
)

// Formats of the encoded Global Server Report that ServerReportCache
// holds.
const (
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// Defaults of NewServerReportCache.
const (
	DefaultCacheEntries = 8
	DefaultCacheBytes   = 32 << 20
	// cacheBuildTimeout bounds a shared build: it runs detached from the
	// request that started it, so that one client going away does not fail
	// the others waiting on the same build.
	cacheBuildTimeout = 30 * time.Second
)

// ServerReportCache holds the encoded Global Server Report (JSON or CSV,
// whole documents) keyed by the normalized query and the store's write
// version (store.Version). A request reads the version first, then serves
// the bytes built at that same version, joins the build in flight for the
// same query and version, or builds. An entry built at version v holds
// every write committed before v was read, so a client that has seen its
// write committed never gets a document without it (read-your-writes);
// under concurrent load identical requests share one build and one
// encoding instead of each paying for its own.
//
// Memory is bounded by entry count and by bytes, least recently used out
// first; storing an entry drops every entry of an older version, which no
// new request can hit.
type ServerReportCache struct {
	st         *store.Store
	maxEntries int
	maxBytes   int

	group singleflight.Group

	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recent first
	entries map[cacheKey]*list.Element
	bytes   int
	newest  uint64 // highest version stored

	// OnBuild, if set, is called at the start of every build (tests count
	// builds with it). Set it before the first Get.
	OnBuild func(format string, q ServerQuery, version uint64)
	// onWait, if set, is called when a request that found no entry joins
	// (or starts) the build for its key: tests wait on it instead of
	// sleeping.
	onWait func()
}

type cacheKey struct {
	format  string
	q       ServerQuery
	version uint64
}

type cacheEntry struct {
	key  cacheKey
	body []byte
}

// NewServerReportCache returns a cache over st that keeps at most
// maxEntries documents and maxBytes of them (defaults when <= 0).
func NewServerReportCache(st *store.Store, maxEntries, maxBytes int) *ServerReportCache {
	if maxEntries <= 0 {
		maxEntries = DefaultCacheEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheBytes
	}
	return &ServerReportCache{
		st: st, maxEntries: maxEntries, maxBytes: maxBytes,
		lru: list.New(), entries: map[cacheKey]*list.Element{},
	}
}

// NormalizeServerQuery maps queries that select and order the same rows to
// one value: the search is trimmed and lower-cased (BuildServerRows
// matches it case-insensitively) and the default sort is spelled "name".
func NormalizeServerQuery(q ServerQuery) ServerQuery {
	q.Q = strings.ToLower(strings.TrimSpace(q.Q))
	if q.Sort == "" {
		q.Sort = "name"
	}
	return q
}

// Get returns the report for q encoded as format (FormatJSON or
// FormatCSV), as WriteServersJSON or WriteServersCSV writes it. The
// returned bytes are shared: do not modify them.
func (c *ServerReportCache) Get(ctx context.Context, format string, q ServerQuery) ([]byte, error) {
	if format != FormatJSON && format != FormatCSV {
		return nil, fmt.Errorf("server report cache: unknown format %q", format)
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	// The version is read before anything else: whatever is served was
	// built from a snapshot taken after this point.
	key := cacheKey{format: format, q: NormalizeServerQuery(q), version: c.st.Version()}
	if body, ok := c.lookup(key); ok {
		return body, nil
	}
	ch := startShared(ctx, &c.group, key.String(), "server report", func(bctx context.Context) ([]byte, error) {
		if body, ok := c.lookup(key); ok { // stored while we queued
			return body, nil
		}
		if c.OnBuild != nil {
			c.OnBuild(key.format, key.q, key.version)
		}
		body, err := buildServerReport(bctx, c.st, key.format, key.q)
		if err != nil {
			return nil, err
		}
		c.store(key, body)
		return body, nil
	})
	if c.onWait != nil {
		c.onWait() // the request is registered with the build by now
	}
	return awaitShared[[]byte](ctx, ch)
}

func (k cacheKey) String() string {
	return fmt.Sprintf("%s|%d|%q|%d|%q|%q|%t|%q|%t", k.format, k.version,
		k.q.Q, k.q.SiteID, k.q.Kind, k.q.Status, k.q.DuplicateOnly, k.q.Sort, k.q.Desc)
}

func buildServerReport(ctx context.Context, st *store.Store, format string, q ServerQuery) ([]byte, error) {
	rows, err := Servers(ctx, st, q)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if format == FormatCSV {
		buf.Grow(len(rows) * 200)
		err = WriteServersCSV(&buf, rows)
	} else {
		buf.Grow(len(rows) * 340)
		err = WriteServersJSON(&buf, rows)
	}
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (c *ServerReportCache) lookup(k cacheKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cacheEntry).body, true
}

func (c *ServerReportCache) store(k cacheKey, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k.version < c.newest || len(body) > c.maxBytes {
		return // a newer version is stored already: nobody new asks for this one
	}
	if k.version > c.newest {
		c.newest = k.version
		for e := c.lru.Front(); e != nil; {
			next := e.Next()
			if e.Value.(*cacheEntry).key.version < k.version {
				c.remove(e)
			}
			e = next
		}
	}
	if _, ok := c.entries[k]; ok {
		return
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, body: body})
	c.bytes += len(body)
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *ServerReportCache) remove(e *list.Element) {
	ent := c.lru.Remove(e).(*cacheEntry)
	delete(c.entries, ent.key)
	c.bytes -= len(ent.body)
}

// Len returns the number of documents held and their total size.
func (c *ServerReportCache) Len() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}
