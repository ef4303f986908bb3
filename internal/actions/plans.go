package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"mailnet/internal/mailnet"
	"mailnet/internal/store"
)

// MovePlan is what a move preview showed: the target, the source (for an
// evacuation) or the users, and the counts. Its ID identifies it; a
// MoveRequest that carries a plan ID is refused when the move it would
// start now has another (the selection, the target or the users' messages
// changed since the preview).
type MovePlan struct {
	ToServerID   int64
	FromServerID int64 // with All
	All          bool
	UserIDs      []int64 // without All: the selection
	Users        int64
	Messages     int64
}

// ID hashes the plan.
func (p MovePlan) ID() string {
	ids := slices.Clone(p.UserIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if p.All {
		ids = nil // an evacuation moves whoever is on the server: counted, not listed
	}
	h := sha256.New()
	fmt.Fprintf(h, "move/1|to=%d|from=%d|all=%t|users=%d|messages=%d|ids=%v", p.ToServerID, p.FromServerID, p.All, p.Users, p.Messages, ids)
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// planOf is the plan of the move req would start with users now.
func (req MoveRequest) planOf(users []store.MoveCandidate) MovePlan {
	p := MovePlan{ToServerID: req.ToServerID, All: req.All, Users: int64(len(users))}
	if req.All {
		p.FromServerID = req.FromServerID
	}
	for _, u := range users {
		if !req.All {
			p.UserIDs = append(p.UserIDs, u.ID)
		}
		p.Messages += u.MessageCount
	}
	return p
}

// errPlanChanged refuses a start whose preview no longer holds.
var errPlanChanged = mailnet.Errorf(mailnet.KindConflict, "plan",
	"the move changed since the preview (its users, their messages or the target): review the new preview and start again")

// ResolvePlanID identifies a resolve preview: the serial, the target and
// the plans of its evacuations, in order.
func ResolvePlanID(serial string, to int64, moves []MovePlan) string {
	h := sha256.New()
	fmt.Fprintf(h, "resolve/1|serial=%q|to=%d", serial, to)
	for _, m := range moves {
		fmt.Fprintf(h, "|%s", m.ID())
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}
