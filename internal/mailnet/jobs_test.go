package mailnet_test

import (
	"encoding/json"
	"testing"
	"time"

	"mailnet/internal/mailnet"
)

// A job encodes as the API has always shown it: the stored times in
// fixed-width RFC 3339, unset ones left out, and decodes back.
func TestJobJSONIsTheAPIs(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	j := mailnet.JobDetail{
		Job:  mailnet.Job{ID: 1, Kind: mailnet.JobKindMove, Status: mailnet.JobRunning, Total: 10, Done: 4},
		Unit: mailnet.JobUnitMessages, UsersTotal: 2, UsersDone: 1, Moved: 1, MessagesMoved: 3, FromServerID: 2, Sources: 1,
		ToServerID: 3, Actor: "alice",
		CreatedAt: at, StartedAt: at.Add(time.Second),
		Items: []mailnet.MoveItem{{ID: 7, JobID: 1, UserID: 9, Alias: "a", FromServerID: 2, ToServerID: 3,
			State: mailnet.ItemCopying, Total: 5, Copied: 2, UpdatedAt: at}},
	}
	got, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":1,"kind":"move","status":"running","total":10,"done":4,"unit":"messages","users_total":2,"users_done":1,` +
		`"moved":1,"failed":0,"cancelled":0,"skipped":0,"messages_moved":3,"from_server_id":2,"sources":1,"to_server_id":3,"actor":"alice","cancel_requested":false,"created_at":"2026-01-02T03:04:05.000000600Z",` +
		`"started_at":"2026-01-02T03:04:06.000000600Z","items":[{"id":7,"job_id":1,"user_id":9,"alias":"a",` +
		`"from_server_id":2,"to_server_id":3,"state":"copying","total":5,"copied":2,"updated_at":"2026-01-02T03:04:05.000000600Z"}]}`
	if string(got) != want {
		t.Errorf("job JSON:\ngot  %s\nwant %s", got, want)
	}
	var back mailnet.JobDetail
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !back.CreatedAt.Equal(j.CreatedAt) || !back.StartedAt.Equal(j.StartedAt) || !back.FinishedAt.IsZero() ||
		!back.Items[0].UpdatedAt.Equal(j.Items[0].UpdatedAt) || back.UsersDone != 1 || back.Moved != 1 || back.FromServerID != 2 || back.Status != mailnet.JobRunning {
		t.Errorf("decoded job: got %+v, want %+v", back, j)
	}
}
