package actions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailnet/internal/mailnet"
)

// The manual dir-sync article's preparation C sets two things on the
// Microsoft Mail Connector of the DX server, both owned by the console:
// "In the Diagnostics Logging property page, click MSExchangePCMTA and
// set the Logging level to Maximum", and "Change the value of 'Check for
// mail every __ minute' to 1". RunbookFix is the runbook's one-click fix
// for each: it goes through UpdateConnector (the connector page's own
// action, audited as connector.update), so nothing here writes by itself.
const (
	// RunbookFixPCMTALogging sets MSExchangePCMTA to maximum, reverting
	// to the level it had after RevertAfter.
	RunbookFixPCMTALogging = "pcmta-logging"
	// RunbookFixPoll sets the connector's polling to every 1 minute.
	RunbookFixPoll = "poll-1-minute"

	// PCMTACategory is the diagnostics logging category of the PC MTA.
	PCMTACategory = "MSExchangePCMTA"
	// RunbookPollMinutes is the polling interval the article asks for.
	RunbookPollMinutes = 1
	// DefaultRunbookRevert is how long the runbook keeps MSExchangePCMTA
	// at maximum: a manual dir-sync is done in an hour or two, and
	// maximum logging fills the event log.
	DefaultRunbookRevert = 4 * time.Hour
)

// RunbookFix is one preparation C fix on a connector.
type RunbookFix struct {
	ConnectorID int64
	Fix         string // RunbookFixPCMTALogging or RunbookFixPoll
	// RevertAfter is when MSExchangePCMTA goes back to its level (the
	// logging fix only); zero: DefaultRunbookRevert.
	RevertAfter time.Duration
}

// PCMTAAtMaximum reports whether the connector logs MSExchangePCMTA at
// maximum (the check the runbook verifies).
func PCMTAAtMaximum(c mailnet.Connector) bool {
	for k, v := range c.Logging {
		if strings.EqualFold(k, PCMTACategory) {
			return strings.EqualFold(v, "maximum")
		}
	}
	return false
}

// PCMTALevel is the connector's MSExchangePCMTA level ("" when unset).
func PCMTALevel(c mailnet.Connector) string {
	for k, v := range c.Logging {
		if strings.EqualFold(k, PCMTACategory) {
			return v
		}
	}
	return ""
}

// ApplyRunbookFix applies one preparation C fix. The connector must be a
// Microsoft Mail Connector; a fix already in place changes nothing and
// writes no audit row.
func (a *Actions) ApplyRunbookFix(ctx context.Context, in RunbookFix) (ConnectorUpdated, error) {
	if in.ConnectorID < 1 {
		return ConnectorUpdated{}, mailnet.Invalid("connector_id", "connector_id must name a connector")
	}
	c, err := a.Store.ConnectorByID(ctx, in.ConnectorID)
	if err != nil {
		return ConnectorUpdated{}, err
	}
	if c.Kind != mailnet.ConnectorMSMail {
		return ConnectorUpdated{}, mailnet.Invalid("connector_id", "connector %q is %s; the runbook's fixes are for the Microsoft Mail Connector", c.Name, c.Kind)
	}
	var p ConnectorPatch
	switch in.Fix {
	case RunbookFixPCMTALogging:
		after := in.RevertAfter
		if after == 0 {
			after = DefaultRunbookRevert
		}
		if after < time.Minute || after > MaxLoggingRevert {
			return ConnectorUpdated{}, mailnet.Invalid("revert_minutes", "the revert must come from 1 minute to %d days after the change", int(MaxLoggingRevert/(24*time.Hour)))
		}
		if PCMTAAtMaximum(c) {
			return ConnectorUpdated{Connector: c}, nil
		}
		maxLevel := "maximum"
		p.Logging = Some(map[string]*string{PCMTACategory: &maxLevel})
		p.LoggingRevertAt = Some(a.Store.Now().Add(after))
	case RunbookFixPoll:
		if in.RevertAfter != 0 {
			return ConnectorUpdated{}, mailnet.Invalid("revert_minutes", "only the logging fix reverts; the poll interval stays")
		}
		if c.PollMinutes == RunbookPollMinutes {
			return ConnectorUpdated{Connector: c}, nil
		}
		p.PollMinutes = Some(RunbookPollMinutes)
	default:
		return ConnectorUpdated{}, mailnet.Invalid("fix", "fix must be %s or %s, not %q", RunbookFixPCMTALogging, RunbookFixPoll, in.Fix)
	}
	out, err := a.UpdateConnector(ctx, in.ConnectorID, p)
	if err != nil {
		return out, fmt.Errorf("runbook fix %s: %w", in.Fix, err)
	}
	return out, nil
}
