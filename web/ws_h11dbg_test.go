package web_test

import (
	"testing"
	"time"

	"mailnet/internal/live"
)

func TestH11Debug(t *testing.T) {
	e := newLiveEnv(t, "", liveOpts{})
	c := e.mustDial("types=job")
	time.Sleep(50 * time.Millisecond)
	for i := range 5 {
		e.Hub.Publish(live.Frame{Type: live.TypeJob, Data: map[string]any{"i": i}})
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		_, m, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		t.Logf("%s", m)
		time.Sleep(20 * time.Millisecond)
	}
}
