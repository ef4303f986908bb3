package web

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"mailnet/internal/actions"
	"mailnet/internal/live"
	"mailnet/internal/mailnet"
	"mailnet/internal/mta"
	"mailnet/internal/store"
)

// The cluster and RAS facts of servers and connectors (KB-RULES R3,
// Q169113; R5, Q256844) in the inventory API: read with the server or
// connector, set by the same PATCH (a JSON merge patch: a field left out
// stays, null clears), validated before anything is written, audited.

// serverMTAPatch is the part of a server's PATCH that sets its facts.
type serverMTAPatch struct {
	// Cluster is an object {virtual_address, nodes: [{name, address}]},
	// merged into the one stored: null clears it.
	Cluster actions.Patch[json.RawMessage] `json:"cluster"`
	// RASPool is "FIRST-LAST" or "ADDRESS/BITS": null clears it.
	RASPool actions.Patch[string] `json:"ras_pool"`
}

func (p serverMTAPatch) set() bool { return p.Cluster.Set || p.RASPool.Set }

// clusterPatch is the merge patch of a cluster object.
type clusterPatch struct {
	VirtualAddress actions.Patch[string]          `json:"virtual_address"`
	Nodes          actions.Patch[json.RawMessage] `json:"nodes"`
}

// prefixed names a field of a nested value under prefix ("cluster").
func prefixed(prefix string) func(jsontext.Pointer) string {
	return func(p jsontext.Pointer) string {
		f := jsonField(p)
		switch {
		case f == "":
			return prefix
		case strings.HasPrefix(f, "["):
			return prefix + f
		}
		return prefix + "." + f
	}
}

// apply merges p into before for server sv, and checks the result:
// a refusal is a 422 naming the field.
func (p serverMTAPatch) apply(sv mailnet.Server, before mta.ServerFacts) (mta.ServerFacts, error) {
	after := before
	if sv.Kind != mailnet.ServerKindExchange {
		for _, f := range []struct {
			name    string
			present bool
		}{{"cluster", p.Cluster.Present()}, {"ras_pool", p.RASPool.Present()}} {
			if f.present {
				return after, mailnet.Invalid(f.name, "%s is %s: clusters and Routing and RAS pools are facts of Exchange servers (Q169113, Q256844)", sv.Name, sv.Kind)
			}
		}
	}
	if p.Cluster.Set {
		if p.Cluster.Null {
			after.Cluster = nil
		} else {
			c, err := mergeCluster(before.Cluster, p.Cluster.Value)
			if err != nil {
				return after, err
			}
			after.Cluster = c
		}
	}
	if p.RASPool.Set {
		if p.RASPool.Null {
			after.RASPool = nil
		} else {
			pool, err := mta.ParseRASPool(p.RASPool.Value)
			if err != nil {
				return after, mailnet.Invalid("ras_pool", "ras_pool: %v", err)
			}
			for _, a := range sv.Addresses {
				if pool.Contains(a) {
					return after, mailnet.Invalid("ras_pool", "the RAS pool %s holds %s, an address of %s itself: the pool gives dial-in callers addresses of their own", pool, a, sv.Name)
				}
			}
			after.RASPool = &pool
		}
	}
	return after, nil
}

// mergeCluster merges a cluster object (RFC 7396) into the stored one.
func mergeCluster(before *mta.Cluster, raw json.RawMessage) (*mta.Cluster, error) {
	var cp clusterPatch
	if err := jsonDecodeNamed(raw, &cp, "cluster"); err != nil {
		return nil, err
	}
	c := mta.Cluster{Nodes: []mta.ClusterNode{}}
	if before != nil {
		c.VirtualAddress = before.VirtualAddress
		c.Nodes = append(c.Nodes, before.Nodes...)
	}
	if cp.VirtualAddress.Set {
		c.VirtualAddress = cp.VirtualAddress.Or("")
	}
	if cp.Nodes.Set {
		c.Nodes = []mta.ClusterNode{}
		if !cp.Nodes.Null {
			if err := jsonDecodeNamed(cp.Nodes.Value, &c.Nodes, "cluster.nodes"); err != nil {
				return nil, err
			}
		}
	}
	out, fe := c.Check("cluster")
	if !fe.OK() {
		return nil, mailnet.Invalid(fe.Field, "%s", fe.Message)
	}
	return &out, nil
}

// jsonDecodeNamed decodes a nested value strictly, naming its fields
// under prefix.
func jsonDecodeNamed(raw []byte, dst any, prefix string) error {
	if err := jsonv2.UnmarshalRead(bytes.NewReader(raw), dst, strictJSON); err != nil {
		err = jsonErrorNamed(err, prefixed(prefix))
		if e, ok := mailnet.AsError(err); ok && e.Field == "" {
			return mailnet.Errorf(e.Kind, prefix, "%s: %s", prefix, e.Message)
		}
		return err
	}
	return nil
}

// anyPatchField reports whether a patch struct has a field in the body
// (an actions.Patch that is not absent).
func anyPatchField(p any) bool {
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		if z, ok := v.Field(i).Interface().(interface{ IsZero() bool }); ok && !z.IsZero() {
			return true
		}
	}
	return false
}

// factsView is how the API shows a server's facts.
type factsView struct {
	Cluster *mta.Cluster `json:"cluster"`
	RASPool *string      `json:"ras_pool"`
}

func newFactsView(f mta.ServerFacts) factsView {
	v := factsView{Cluster: f.Cluster}
	if f.RASPool != nil {
		s := f.RASPool.String()
		v.RASPool = &s
	}
	return v
}

// updateServerFacts applies p to server id in one audited write; the
// caller has checked it with apply already, which is repeated inside the
// transaction against what it reads.
func (s *Server) updateServerFacts(ctx context.Context, id int64, p serverMTAPatch) error {
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		sv, err := tx.ServerByID(ctx, id)
		if err != nil {
			return err
		}
		if sv.Status == mailnet.StatusDecommissioned {
			return mailnet.Errorf(mailnet.KindConflict, "status", "server %s is decommissioned", sv.Name)
		}
		before, err := tx.ServerMTAFacts(ctx, id)
		if err != nil {
			return err
		}
		after, err := p.apply(sv, before)
		if err != nil {
			return err
		}
		if err := tx.SetServerMTAFacts(ctx, id, after); err != nil {
			return err
		}
		return tx.Audit(ctx, "server.mta_facts", "server", id, newFactsView(before), newFactsView(after), "cluster and RAS pool (Q169113, Q256844)")
	})
	if err != nil {
		return err
	}
	s.actions.Live.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "server", ID: id, Action: "updated"}})
	return nil
}

// checkServerFacts refuses a facts patch before anything is written.
func (s *Server) checkServerFacts(ctx context.Context, id int64, p serverMTAPatch) error {
	sv, err := s.store.ServerByID(ctx, id)
	if err != nil {
		return err
	}
	if sv.Status == mailnet.StatusDecommissioned {
		return mailnet.Errorf(mailnet.KindConflict, "status", "server %s is decommissioned", sv.Name)
	}
	before, err := s.store.ServerMTAFacts(ctx, id)
	if err != nil {
		return err
	}
	_, err = p.apply(sv, before)
	return err
}

// connectorMTAPatch is the part of a connector's PATCH that sets its
// transport: "lan" or "rras" (an X.400 connector that creates outbound
// Routing and RAS connections, Q256844); null is "lan".
type connectorMTAPatch struct {
	Transport actions.Patch[string] `json:"transport"`
}

// transportOf checks a transport patch for connector c.
func (p connectorMTAPatch) transportOf(c mailnet.Connector) (string, error) {
	t := p.Transport.Or(mta.TransportLAN)
	if !mta.ValidTransport(t) {
		return "", mailnet.Invalid("transport", "transport must be %q (the network) or %q (a dial-up Routing and RAS connection, Q256844), not %q", mta.TransportLAN, mta.TransportRRAS, t)
	}
	if c.Kind != mailnet.ConnectorX400 && t != mta.TransportLAN {
		return "", mailnet.Invalid("transport", "connector %s is %s: only an X.400 connector dials over Routing and RAS", c.Name, c.Kind)
	}
	return t, nil
}

func (s *Server) checkConnectorTransport(ctx context.Context, id int64, p connectorMTAPatch) error {
	c, err := s.store.ConnectorByID(ctx, id)
	if err != nil {
		return err
	}
	_, err = p.transportOf(c)
	return err
}

// updateConnectorTransport sets a connector's transport in one audited
// write.
func (s *Server) updateConnectorTransport(ctx context.Context, id int64, p connectorMTAPatch) error {
	err := s.store.Write(ctx, func(tx *store.Tx) error {
		c, err := tx.ConnectorByID(ctx, id)
		if err != nil {
			return err
		}
		t, err := p.transportOf(c)
		if err != nil {
			return err
		}
		before, err := tx.ConnectorTransport(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.SetConnectorTransport(ctx, id, t); err != nil {
			return err
		}
		return tx.Audit(ctx, "connector.transport", "connector", id, map[string]string{"transport": before}, map[string]string{"transport": t}, "Routing and RAS (Q256844)")
	})
	if err != nil {
		return err
	}
	s.actions.Live.Publish(live.Frame{Type: live.TypeInventory, Data: live.Inventory{Object: "connector", ID: id, Action: "updated"}})
	return nil
}

// connectorView is a connector as the API shows it: the contract's
// fields and, for an X.400 connector, its transport.
type connectorView struct {
	mailnet.Connector
	Transport string `json:"transport,omitempty"`
}

func newConnectorView(c mailnet.Connector, transports map[int64]string) connectorView {
	v := connectorView{Connector: c}
	if c.Kind == mailnet.ConnectorX400 {
		v.Transport = mta.TransportLAN
		if t := transports[c.ID]; t != "" {
			v.Transport = t
		}
	}
	return v
}
