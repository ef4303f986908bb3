package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// Options size a generated network.
type Options struct {
	Servers  int
	Users    int
	Messages int
	Seed     int64
	// Batch is the rows per transaction; 0 means 20,000.
	Batch int
}

// Bounds of Options, so that a typo cannot fill the disk.
const (
	MaxServers  = 1_000_000
	MaxUsers    = 50_000_000
	MaxMessages = 500_000_000
)

// DuplicatePairs is how many pairs of servers at different sites share a
// serial in a generated network (fewer when the network is too small).
const DuplicatePairs = 5

type genServer struct {
	name, kind, version string
	site                int
	addrs               []string
	serial              string
	override            bool // multihomed with a Stack IP Address Override
	users, messages     int64
	firstUser           int64
}

var (
	exchangeVersions = []string{"4.0.996.72", "5.0.1457.8", "5.5.1960.3", "5.5.2232.18", "5.5.2448.1", "5.5.2448.1", "5.5.2650.24", "5.5.2650.24"}
	pcVersions       = []string{"3.2", "3.5", "3.5"}
	macVersions      = []string{"3.0", "3.1", "3.1"}
)

// Plan is the shape of a generated network, known before any row is
// written, so that counters are written right the first time.
type Plan struct {
	Sites                                           []string
	Servers                                         int64
	Users, Messages, Routes, Connectors, Requestors int64
	servers                                         []genServer
	perUser                                         []int32
	hubs                                            int
	dupPairs                                        int
}

// DuplicatePairs is how many pairs of servers at different sites share a
// serial number.
func (p *Plan) DuplicatePairs() int { return p.dupPairs }

// Rows is the number of rows the plan writes.
func (p *Plan) Rows() int64 {
	return int64(len(p.Sites)) + p.Servers + p.Users + p.Messages + p.Routes + p.Connectors + p.Requestors + 1
}

func (o Options) validate() error {
	switch {
	case o.Servers < 1 || o.Servers > MaxServers:
		return mailnet.Invalid("servers", "servers must be between 1 and %d", MaxServers)
	case o.Users < 0 || o.Users > MaxUsers:
		return mailnet.Invalid("users", "users must be between 0 and %d", MaxUsers)
	case o.Messages < 0 || o.Messages > MaxMessages:
		return mailnet.Invalid("messages", "messages must be between 0 and %d", MaxMessages)
	case o.Messages > 0 && o.Users == 0:
		return mailnet.Invalid("messages", "messages need at least one user")
	}
	return nil
}

// NewPlan lays out the network that Generate writes for opt.
func NewPlan(opt Options) (*Plan, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(uint64(opt.Seed), 0x6d61696c6e6574))
	n := opt.Servers
	nSites := max(1, int(math.Round(math.Sqrt(float64(n)))))
	if n >= 2 {
		nSites = max(nSites, 2)
	}
	p := &Plan{Servers: int64(n), Users: int64(opt.Users), Messages: int64(opt.Messages), hubs: nSites}
	for i := range nSites {
		name := cities[i%len(cities)]
		if i >= len(cities) {
			name = fmt.Sprintf("%s %d", name, i/len(cities)+1)
		}
		p.Sites = append(p.Sites, name)
	}

	// Servers, round robin over the sites: server k < nSites is the
	// Exchange hub of site k.
	counters := map[string]int{}
	p.servers = make([]genServer, n)
	salt := uint32(opt.Seed)*2246822519 ^ 0x9e3779b9
	for i := range p.servers {
		s := &p.servers[i]
		s.site = i % nSites
		roll := r.IntN(100)
		switch {
		case i < nSites || roll < 60:
			s.kind, s.version = mailnet.ServerKindExchange, exchangeVersions[r.IntN(len(exchangeVersions))]
		case roll < 82:
			s.kind, s.version = mailnet.ServerKindMSMailPC, pcVersions[r.IntN(len(pcVersions))]
		default:
			s.kind, s.version = mailnet.ServerKindMSMailMac, macVersions[r.IntN(len(macVersions))]
		}
		s.addrs = []string{address(i, 0)}
		if s.kind == mailnet.ServerKindExchange && r.IntN(100) < 8 {
			s.addrs = append(s.addrs, address(i, 1))
			s.override = r.IntN(4) != 0 // most have been fixed, as SP2 allows
		}
		s.serial = serial(s.kind, i, salt)
	}
	// Duplicate serials (Q99393): pairs of neighbours, which round robin
	// puts at different sites, spread over the non-hub servers.
	if nSites >= 2 {
		pairs := min(DuplicatePairs, (n-nSites)/2)
		p.dupPairs = pairs
		for j := range pairs {
			a := nSites + j*((n-nSites)/pairs)
			for _, k := range []int{a, a + 1} {
				s := &p.servers[k]
				s.kind, s.version, s.override = mailnet.ServerKindMSMailMac, "3.1", false
				s.addrs = s.addrs[:1]
			}
			p.servers[a].serial = serial(mailnet.ServerKindMSMailMac, a, salt)
			p.servers[a+1].serial = p.servers[a].serial
		}
	}
	for i := range p.servers {
		s := &p.servers[i]
		prefix := map[string]string{mailnet.ServerKindExchange: "EXCH", mailnet.ServerKindMSMailPC: "PO", mailnet.ServerKindMSMailMac: "MACMAIL"}[s.kind]
		code := strings.ToUpper(strings.ReplaceAll(p.Sites[s.site], " ", ""))[:3]
		key := prefix + "-" + code
		counters[key]++
		s.name = fmt.Sprintf("%s-%02d", key, counters[key])
	}

	// Users per server: hubs and Exchange servers hold more.
	weights := make([]float64, n)
	for i, s := range p.servers {
		w := map[string]float64{mailnet.ServerKindExchange: 2, mailnet.ServerKindMSMailPC: 1, mailnet.ServerKindMSMailMac: 0.6}[s.kind]
		if i < nSites {
			w = 3
		}
		weights[i] = w * (0.5 + r.Float64())
	}
	perServer := apportion(int64(opt.Users), weights)
	// Messages per user: exponential, as real mailboxes are.
	uw := make([]float64, opt.Users)
	for i := range uw {
		uw[i] = r.ExpFloat64()
	}
	perUser := apportion(int64(opt.Messages), uw)
	p.perUser = make([]int32, opt.Users)
	var u int64
	for i := range p.servers {
		s := &p.servers[i]
		s.users = perServer[i]
		s.firstUser = u + 1
		for range s.users {
			p.perUser[u] = int32(perUser[u])
			s.messages += perUser[u]
			u++
		}
	}
	p.Routes = int64(p.routes(nil))
	p.Connectors = int64(p.connectors(nil))
	p.Requestors = int64(p.requestors(nil))
	return p, nil
}

func (p *Plan) hub(i int) int { return p.servers[i].site }

// routes calls emit (when not nil) for every configured route and returns
// how many there are: between hubs direct, each server and its hub direct
// both ways, a server and its next one at the same site direct both ways,
// and each server to its neighbours at other sites indirect via its hub.
func (p *Plan) routes(emit func(store.BulkRoute) error) int {
	n, count := len(p.servers), 0
	add := func(from, to int, configured string, via int) {
		count++
		if emit != nil {
			var v int64
			if via >= 0 {
				v = int64(via + 1)
			}
			// errors are collected by the Bulk writer and returned by its
			// next call
			_ = emit(store.BulkRoute{From: int64(from + 1), To: int64(to + 1), Configured: configured, Via: v})
		}
	}
	for a := range p.hubs {
		for b := range p.hubs {
			if a != b {
				add(a, b, mailnet.RouteDirect, -1)
			}
		}
	}
	for s := p.hubs; s < n; s++ {
		h := p.hub(s)
		add(s, h, mailnet.RouteDirect, -1)
		add(h, s, mailnet.RouteDirect, -1)
		if t := s + p.hubs; t < n {
			add(s, t, mailnet.RouteDirect, -1)
			add(t, s, mailnet.RouteDirect, -1)
		}
		for _, t := range []int{s - 1, s + 1} {
			if t >= p.hubs && t < n && p.servers[t].site != p.servers[s].site {
				add(s, t, mailnet.RouteIndirect, h)
			}
		}
	}
	return count
}

func (p *Plan) x400(local, remote int) store.BulkConnector {
	l, r := &p.servers[local], &p.servers[remote]
	c := store.BulkConnector{Kind: mailnet.ConnectorX400, Name: "TCP to " + r.name, ServerID: int64(local + 1), RemoteServerID: int64(remote + 1),
		StackAddresses: []string{r.addrs[0]}}
	if len(l.addrs) > 1 && l.override {
		c.OverrideAddress = l.addrs[0]
	}
	return c
}

// connectors: X.400 pairs around a ring of hubs and from every other
// Exchange server to the hub of the next site; an MS Mail connector from
// each hub to the first postoffice of its site.
func (p *Plan) connectors(emit func(store.BulkConnector) error) int {
	count := 0
	add := func(c store.BulkConnector) {
		count++
		if emit != nil {
			_ = emit(c)
		}
	}
	pair := func(a, b int) { add(p.x400(a, b)); add(p.x400(b, a)) }
	if p.hubs == 2 {
		pair(0, 1)
	} else if p.hubs > 2 {
		for a := range p.hubs {
			pair(a, (a+1)%p.hubs)
		}
	}
	havePO := make([]bool, p.hubs)
	for s := p.hubs; s < len(p.servers); s++ {
		sv := &p.servers[s]
		switch {
		case sv.kind == mailnet.ServerKindExchange && p.hubs >= 2:
			pair(s, (sv.site+1)%p.hubs)
		case sv.kind == mailnet.ServerKindMSMailPC && !havePO[sv.site]:
			havePO[sv.site] = true
			add(store.BulkConnector{Kind: mailnet.ConnectorMSMail, Name: "Microsoft Mail Connector", ServerID: int64(sv.site + 1), RemoteServerID: int64(s + 1),
				PollMinutes: 5, Logging: map[string]string{"MSExchangePCMTA": "none"}})
		}
	}
	return count
}

// maxRequestors bounds the requestors of the one DX (the hub of the first
// site) in a generated network.
const maxRequestors = 500

func (p *Plan) requestors(emit func(store.BulkRequestor) error) int {
	count := 0
	for s := p.hubs; s < len(p.servers) && count < maxRequestors; s++ {
		sv := &p.servers[s]
		if sv.kind != mailnet.ServerKindMSMailPC {
			continue
		}
		count++
		if emit != nil {
			rq, sq, imp := int64(5+s%50), int64(3+s%40), int64(s%7)
			_ = emit(store.BulkRequestor{ID: int64(count), Network: strings.ToUpper(strings.ReplaceAll(p.Sites[sv.site], " ", "")) + "NET",
				Postoffice: sv.name, DXServerID: 1, ServerID: int64(s + 1), RequestorSync: rq, ServerSync: sq, Imports: imp,
				LastReqTx: ReqTx(rq, rq-1, sq-1, imp, int64(s%60)), LastSrvTx: SrvTx(rq, sq, sq-1, imp, int64(s%30))})
		}
	}
	return count
}

// Generate writes a large synthetic network into an empty database for
// benchmarks: opt.Servers servers over about sqrt(Servers) sites, exactly
// opt.Users users and opt.Messages messages, a few duplicate-serial pairs
// at different sites, X.400 connectors and routes a few per server. It
// calls progress (when not nil) after every committed batch with the rows
// written so far and the total. The same options give the same network.
func Generate(ctx context.Context, st *store.Store, opt Options, progress func(done, total int64)) error {
	p, err := NewPlan(opt)
	if err != nil {
		return err
	}
	_, servers, err := st.BulkInventoryCounts(ctx)
	if err != nil {
		return err
	}
	if servers > 0 {
		return fmt.Errorf("generate: %w (%d servers)", store.ErrNotEmpty, servers)
	}
	return p.Write(ctx, st, opt, progress)
}

// Write loads the plan. The database must hold no servers.
func (p *Plan) Write(ctx context.Context, st *store.Store, opt Options, progress func(done, total int64)) error {
	total := p.Rows()
	siteIDs, err := st.BulkEnsureSites(ctx, p.Sites)
	if err != nil {
		return err
	}
	done := int64(len(p.Sites))
	report := func(rows int) {
		done += int64(rows)
		if progress != nil {
			progress(done, total)
		}
	}
	report(0)
	batch := opt.Batch
	if batch <= 0 {
		batch = 20000
	}
	b := st.NewBulk(ctx, batch, report)
	if err := b.Fast(); err != nil {
		return err
	}
	defer b.Close()
	for i := range p.servers {
		s := &p.servers[i]
		if err := b.Server(store.BulkServer{ID: int64(i + 1), Name: s.name, SiteID: siteIDs[s.site], Kind: s.kind, Version: s.version,
			Serial: s.serial, Addresses: s.addrs, UserCount: s.users, MessageCount: s.messages}); err != nil {
			return err
		}
	}
	if err := b.DX(store.BulkDX{ServerID: 1, AdminAccount: "DXAdmin", CopyAdmin: true, ForwardToAdmin: true, CycleMinutes: 60}); err != nil {
		return err
	}
	// Messages come from their own stream so that the users' names do not
	// depend on how many messages there are.
	r := rand.New(rand.NewPCG(uint64(opt.Seed), 0x7573657273))
	rm := rand.New(rand.NewPCG(uint64(opt.Seed), 0x6d7367))
	anchor := time.Date(1999, 11, 9, 17, 0, 0, 0, time.UTC) // Q99393, last modified
	names := newAliases()
	for i := range p.servers {
		s := &p.servers[i]
		sid := int64(i + 1)
		for u := s.firstUser; u < s.firstUser+s.users; u++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			first, last := randomName(r)
			msgs := int64(p.perUser[u-1])
			if err := b.User(store.BulkUser{ID: u, Alias: names.next(first, last), DisplayName: first + " " + last, ServerID: sid,
				InAllListing: true, MessageCount: msgs}); err != nil {
				return err
			}
			for range msgs {
				if err := b.Message(message(rm, u, sid, anchor)); err != nil {
					return err
				}
			}
		}
	}
	p.routes(b.Route)
	p.connectors(b.Connector)
	p.requestors(b.Requestor)
	if err := b.Flush(); err != nil {
		return err
	}
	return b.Close()
}
