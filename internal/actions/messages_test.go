package actions_test

import (
	"testing"

	"mailnet/internal/actions"
)

// BenchmarkDeliverMessages measures one delivery of 1,000 messages (one
// transaction, one prepared statement); b.N deliveries go to one user.
func BenchmarkDeliverMessages(b *testing.B) {
	a, _ := newInvActionsTB(b)
	hq, _ := a.CreateSite(invCtx, actions.SiteInput{Name: "HQ"})
	sv, err := a.CreateServer(invCtx, actions.ServerInput{Name: "EX", SiteID: hq.ID, Kind: "exchange", Serial: "1"})
	if err != nil {
		b.Fatal(err)
	}
	u, err := a.CreateUser(invCtx, actions.UserInput{Alias: "ann", DisplayName: "Ann", ServerID: sv.Server.ID})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]actions.MessageInput, 1000)
	for i := range batch {
		batch[i] = actions.MessageInput{Folder: "Inbox", Subject: "benchmark message", Size: 2048, ReceivedAt: "2024-05-01T09:30:00Z"}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := a.DeliverMessages(invCtx, u.ID, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "msgs/s")
}
