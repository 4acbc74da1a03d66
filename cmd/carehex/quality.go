package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/carehex/carehex"
	"github.com/carehex/carehex/sqlstore"
)

// qualityConfig is the settings of callbacks and complaints (root
// quality.go), read from the environment and checked by validate:
//
//	CAREHEX_CALLBACK_SHARE      share of other completed visits called back, 0..1 (0.1)
//	CAREHEX_CALLBACK_ATTEMPTS   unanswered calls before a task closes as unreachable (3)
//	CAREHEX_COMPLAINT_DUE_OPEN, _REFERRED, _RESPONDED, _VERIFIED
//	                            how long each complaint step may take (24h, 72h, 48h, 24h)
type qualityConfig struct {
	text  map[string]string
	rules *carehex.QualityRules
}

var complaintDueVars = map[string]carehex.ComplaintStatus{
	"CAREHEX_COMPLAINT_DUE_OPEN":      carehex.ComplaintOpen,
	"CAREHEX_COMPLAINT_DUE_REFERRED":  carehex.ComplaintReferred,
	"CAREHEX_COMPLAINT_DUE_RESPONDED": carehex.ComplaintResponded,
	"CAREHEX_COMPLAINT_DUE_VERIFIED":  carehex.ComplaintVerified,
}

func defaultQualityConfig(getenv func(string) string) qualityConfig {
	q := qualityConfig{text: map[string]string{}}
	for _, k := range []string{"CAREHEX_CALLBACK_SHARE", "CAREHEX_CALLBACK_ATTEMPTS"} {
		q.text[k] = getenv(k)
	}
	for k := range complaintDueVars {
		q.text[k] = getenv(k)
	}
	return q
}

// parse checks the settings; an empty one keeps its default.
func (q *qualityConfig) parse() error {
	r := carehex.DefaultQualityRules()
	if v := q.text["CAREHEX_CALLBACK_SHARE"]; v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1 {
			return fmt.Errorf("CAREHEX_CALLBACK_SHARE %q must be a share between 0 and 1, such as 0.1", v)
		}
		r.CallbackShare = f
	}
	if v := q.text["CAREHEX_CALLBACK_ATTEMPTS"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			return fmt.Errorf("CAREHEX_CALLBACK_ATTEMPTS %q must be a whole number of calls from 1 to 20", v)
		}
		r.CallbackAttempts = n
	}
	for k, step := range complaintDueVars {
		if v := q.text[k]; v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < time.Minute {
				return fmt.Errorf("%s %q must be a duration of at least a minute, such as 72h", k, v)
			}
			r.StepDue[step] = d
		}
	}
	q.rules = &r
	return nil
}

// Rules are the parsed settings, the defaults before parse.
func (q qualityConfig) Rules() carehex.QualityRules {
	if q.rules == nil {
		return carehex.DefaultQualityRules()
	}
	return *q.rules
}

// runComplaintAlerts raises an alert for each complaint step past its due
// time. Due times pass without any event to wake on, so this one is a
// timer by nature (like dispatch's late-arrival watch); every replica runs
// it and the alerts' unique key keeps one of each.
func runComplaintAlerts(ctx context.Context, store *sqlstore.DB, clock carehex.Clock, every time.Duration, log *slog.Logger) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if n, err := store.RaiseComplaintAlerts(ctx, clock()); err != nil && ctx.Err() == nil {
			log.Error("complaint.overdue", "err", err)
		} else if n > 0 {
			log.Info("complaint.overdue", "raised", n)
		}
		t.Reset(every)
	}
}
