package carehex

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// Quality is how the district hears from the people served (issue 13):
// callbacks (回访), where an operator phones a resident after a visit and
// records how it went, and complaints (投诉) with their workflow. This file
// holds the rules; sqlstore keeps the records and rpc/quality.go serves them.

// CallbackReason is why a visit was picked for a callback. The order of the
// constants is the queue's priority: a complaint's callback first.
type CallbackReason string

const (
	CallbackComplaint  CallbackReason = "complaint"   // verifies an organisation's response to a complaint
	CallbackException  CallbackReason = "exception"   // the visit had an EVV exception (far check-in, short visit, late, …)
	CallbackFirstVisit CallbackReason = "first_visit" // the resident's first completed visit
	CallbackSampled    CallbackReason = "sampled"     // the random share (QualityRules.CallbackShare)
)

// Priority is the reason's place in the queue: lower is called first.
func (r CallbackReason) Priority() int {
	switch r {
	case CallbackComplaint:
		return 0
	case CallbackException:
		return 1
	case CallbackFirstVisit:
		return 2
	}
	return 3
}

// CallbackStatus is where a callback task stands.
type CallbackStatus string

const (
	CallbackOpen        CallbackStatus = "open"        // in the queue (possibly claimed, see Callback.ClaimedBy)
	CallbackDone        CallbackStatus = "done"        // the resident was reached and the result recorded
	CallbackUnreachable CallbackStatus = "unreachable" // nobody answered QualityRules.CallbackAttempts times
	CallbackCancelled   CallbackStatus = "cancelled"   // a complaint's check no longer needed: withdrawn, or the response sent back
)

// ServiceDone is the resident's answer to "was the service done as logged".
type ServiceDone string

const (
	DoneYes    ServiceDone = "yes"
	DoneNo     ServiceDone = "no"
	DonePartly ServiceDone = "partly"
)

// Valid reports whether d is one of the answers.
func (d ServiceDone) Valid() bool { return d == DoneYes || d == DoneNo || d == DonePartly }

// Callback is one callback task: whom to call about which visit, and what
// came of it. Provider and organisation are copied from the visit when it is
// queued, so results can be summed per carer and organisation.
type Callback struct {
	ID          string
	VisitID     string
	RequestID   string
	ResidentID  string
	ProviderID  string
	OrgID       string
	ComplaintID string // set for a complaint's verification callback
	Reason      CallbackReason
	Status      CallbackStatus
	// ClaimedBy is the operator working the task until ClaimExpireTime;
	// another operator cannot claim it before then.
	ClaimedBy       string
	ClaimExpireTime time.Time
	Attempts        int // unanswered calls so far
	Satisfaction    int // 1–5 once done
	ServiceDone     ServiceDone
	Notes           string
	CreateTime      time.Time
	DoneTime        time.Time
	DoneBy          string

	// Read with the task, for the operator's queue.
	ResidentName string
	ServiceCode  string
}

// CallbackResult is what the operator records after calling.
type CallbackResult struct {
	Unreachable  bool // nobody answered: one attempt more; the others are ignored
	Satisfaction int
	ServiceDone  ServiceDone
	Notes        string
}

// Validate checks a result before it is recorded.
func (r *CallbackResult) Validate() error {
	if err := ValidateText("notes", r.Notes, MaxTextLen, MultiLine); err != nil {
		return err
	}
	if r.Unreachable {
		return nil
	}
	if r.Satisfaction < 1 || r.Satisfaction > 5 {
		return Errorf(EINVALID, "satisfaction", "satisfaction must be 1 to 5, got %d", r.Satisfaction).With(MsgSatisfactionRange, "field", "satisfaction")
	}
	if !r.ServiceDone.Valid() {
		return Errorf(EINVALID, "service_done", "service_done must be yes, no or partly, got %q", r.ServiceDone).With(MsgInvalidEnum, "field", "service_done")
	}
	return nil
}

// CallbackSampledShare reports whether visit falls in the random share of
// callbacks. It is a hash of the visit's ID, not a random draw, so that every
// replica (and a retry) decides the same for the same visit.
func CallbackSampledShare(visitID string, share float64) bool {
	if share <= 0 {
		return false
	}
	if share >= 1 {
		return true
	}
	h := sha256.Sum256([]byte("callback:" + visitID))
	return float64(binary.BigEndian.Uint64(h[:8])>>11)/float64(1<<53) < share
}

// CallbackReasonFor is the rule that queues callbacks: the strongest reason
// a completed visit has, or "" when it needs none.
func CallbackReasonFor(visitID string, firstVisit, exception bool, share float64) CallbackReason {
	switch {
	case exception:
		return CallbackException
	case firstVisit:
		return CallbackFirstVisit
	case CallbackSampledShare(visitID, share):
		return CallbackSampled
	}
	return ""
}

// ComplaintStatus is a complaint's step in its workflow.
type ComplaintStatus string

const (
	ComplaintOpen      ComplaintStatus = "open"      // logged by an operator
	ComplaintReferred  ComplaintStatus = "referred"  // passed to the organisation to answer
	ComplaintResponded ComplaintStatus = "responded" // the organisation's response recorded; a callback verifies it
	ComplaintVerified  ComplaintStatus = "verified"  // the verification callback reached the complainant
	ComplaintClosed    ComplaintStatus = "closed"
	ComplaintRejected  ComplaintStatus = "rejected"  // not a complaint the district handles (unfounded, out of scope)
	ComplaintWithdrawn ComplaintStatus = "withdrawn" // the complainant withdrew it
)

// ComplaintStatuses lists the statuses in workflow order.
var ComplaintStatuses = []ComplaintStatus{ComplaintOpen, ComplaintReferred, ComplaintResponded, ComplaintVerified,
	ComplaintClosed, ComplaintRejected, ComplaintWithdrawn}

// ComplaintTransitions is the workflow: the one table the store and the
// console follow. Verified is reached only by the verification callback
// (sqlstore records it with the callback's result); a verified complaint
// whose callback says the problem remains goes back to the organisation.
var ComplaintTransitions = map[ComplaintStatus][]ComplaintStatus{
	ComplaintOpen:      {ComplaintReferred, ComplaintRejected, ComplaintWithdrawn},
	ComplaintReferred:  {ComplaintResponded, ComplaintWithdrawn},
	ComplaintResponded: {ComplaintVerified, ComplaintReferred, ComplaintWithdrawn},
	ComplaintVerified:  {ComplaintClosed, ComplaintReferred},
}

// CanMoveComplaint reports whether the workflow allows from → to.
func CanMoveComplaint(from, to ComplaintStatus) bool {
	for _, s := range ComplaintTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Terminal reports whether no step leaves s.
func (s ComplaintStatus) Terminal() bool { return len(ComplaintTransitions[s]) == 0 }

// Valid reports whether s is a status.
func (s ComplaintStatus) Valid() bool {
	for _, x := range ComplaintStatuses {
		if x == s {
			return true
		}
	}
	return false
}

// Complainant is who complains.
type Complainant string

const (
	ComplainantElder  Complainant = "elder"
	ComplainantFamily Complainant = "family"
)

// Complaint is a complaint logged by an operator for a resident or a family
// member against a visit, a carer or an organisation. A complaint against a
// visit names its carer and organisation too (read from the visit); one
// against a carer names the carer's organisation.
type Complaint struct {
	ID              string
	ResidentID      string
	Complainant     Complainant
	ComplainantName string // the family member's name, or empty for the elder
	VisitID         string
	RequestID       string // the visit's request
	ProviderID      string
	OrgID           string
	Description     string
	Status          ComplaintStatus
	Response        string // the organisation's response, as recorded
	Resolution      string // the last step's note (why closed, rejected, withdrawn)
	CallbackID      string // the verification callback, once queued
	// DueTime is when the current step must be done (QualityRules); zero
	// in a terminal status. Past it, an alert is raised.
	DueTime    time.Time
	CreateTime time.Time
	UpdateTime time.Time
	CreatedBy  string

	ResidentName string // read with the complaint
}

// Validate checks a new complaint.
func (c *Complaint) Validate() error {
	if Trimmed(c.ResidentID) == "" {
		return Required("resident_id")
	}
	if c.Complainant != ComplainantElder && c.Complainant != ComplainantFamily {
		return Errorf(EINVALID, "complainant", "complainant must be elder or family, got %q", c.Complainant).With(MsgInvalidEnum, "field", "complainant")
	}
	if err := ValidateText("complainant_name", c.ComplainantName, MaxNameLen, SingleLine); err != nil {
		return err
	}
	if c.VisitID == "" && c.ProviderID == "" && c.OrgID == "" {
		return Errorf(EINVALID, "visit_id", "a complaint is against a visit, a carer or an organisation: give one").
			With(MsgComplaintTarget, "field", "visit_id")
	}
	if Trimmed(c.Description) == "" {
		return Required("description")
	}
	return ValidateText("description", c.Description, MaxTextLen, MultiLine)
}

// QualityRules are the settings of callbacks and complaints.
type QualityRules struct {
	// CallbackShare is the share of other completed visits called back,
	// 0..1 (CAREHEX_CALLBACK_SHARE).
	CallbackShare float64
	// CallbackAttempts is how many unanswered calls close a task as
	// unreachable (CAREHEX_CALLBACK_ATTEMPTS).
	CallbackAttempts int
	// CallbackClaim is how long a claim keeps a task from other operators.
	CallbackClaim time.Duration
	// StepDue is how long each complaint step may take
	// (CAREHEX_COMPLAINT_DUE_OPEN, _REFERRED, _RESPONDED, _VERIFIED).
	StepDue map[ComplaintStatus]time.Duration
}

// DefaultQualityRules: one visit in ten called back, three tries, a claim
// of 15 minutes; a complaint referred within a day, answered by the
// organisation within three, verified within two, closed within one.
func DefaultQualityRules() QualityRules {
	return QualityRules{
		CallbackShare: 0.1, CallbackAttempts: 3, CallbackClaim: 15 * time.Minute,
		StepDue: map[ComplaintStatus]time.Duration{
			ComplaintOpen:      24 * time.Hour,
			ComplaintReferred:  72 * time.Hour,
			ComplaintResponded: 48 * time.Hour,
			ComplaintVerified:  24 * time.Hour,
		},
	}
}

// Due is when a step entered at t must be done; zero for a terminal step.
func (q QualityRules) Due(s ComplaintStatus, t time.Time) time.Time {
	d, ok := q.StepDue[s]
	if !ok || d <= 0 {
		return time.Time{}
	}
	return t.Add(d)
}

// AlertComplaintOverdue is the alert kind (and code, with {due_time}) of a
// complaint step past its due time. Its alert names the complaint in Alert.RequestID (the alerts'
// subject key), and closes by itself when the complaint moves on.
const AlertComplaintOverdue = "complaint_overdue"

// QualityFilter narrows the quality lists and figures.
type QualityFilter struct {
	Area   string // a district; empty: the whole city
	Street string // a street of Area; empty: all of it
	OrgID  string
	Status string // a CallbackStatus or ComplaintStatus; empty: any
	// Satisfaction 1..5 lists only done callbacks with that score (the
	// distribution's drill-down).
	Satisfaction int
	From         time.Time
	To           time.Time // exclusive; zero: no bound
	Limit        int
}

// QualitySummary is the figures the dashboard shows: callback satisfaction
// and complaints open and overdue, overall and per organisation.
type QualitySummary struct {
	Callbacks     int     // done
	Unreachable   int     // closed as unreachable
	Open          int     // still in the queue
	Satisfaction  float64 // mean over done callbacks; 0 when none
	Distribution  [5]int  // done callbacks by satisfaction 1..5
	NotAsLogged   int     // done callbacks saying the service was not (or partly) done as logged
	Complaints    int     // logged in the period
	OpenComplaint int     // not yet in a terminal status
	Overdue       int     // open ones past their step's due time
	ByOrg         []OrgQuality
}

// OrgQuality is one organisation's line of the summary.
type OrgQuality struct {
	OrgID        string
	OrgName      string
	Callbacks    int
	Satisfaction float64
	NotAsLogged  int
	Complaints   int
	Open         int
	Overdue      int
}

// QualityStore keeps callbacks and complaints.
type QualityStore interface {
	Callbacks(ctx context.Context, f QualityFilter) ([]*Callback, error)
	Callback(ctx context.Context, id string) (*Callback, error)
	ClaimCallback(ctx context.Context, id string) (*Callback, error)
	NextCallback(ctx context.Context, area string) (*Callback, error)
	RecordCallback(ctx context.Context, id string, r CallbackResult) (*Callback, error)
	CreateComplaint(ctx context.Context, c *Complaint) error
	Complaint(ctx context.Context, id string) (*Complaint, error)
	Complaints(ctx context.Context, f QualityFilter) ([]*Complaint, error)
	MoveComplaint(ctx context.Context, id string, to ComplaintStatus, note string) (*Complaint, error)
	QualitySummary(ctx context.Context, f QualityFilter) (*QualitySummary, error)
}

// Message codes of callbacks and complaints.
const (
	MsgSatisfactionRange  = "satisfaction_range"   // {field}
	MsgComplaintTarget    = "complaint_target"     // {field}: against what
	MsgComplaintStep      = "complaint_step"       // {from, to}: the workflow does not allow it
	MsgClosedComplaint    = "closed_complaint"     // the step was done; the overdue alert closed itself
	MsgCallbackClaimed    = "callback_claimed"     // {by}: another operator is calling
	MsgCallbackClosed     = "callback_closed"      // {status}: the task is no longer open
	MsgComplaintNeedsCall = "complaint_needs_call" // verified only by the callback
)

func init() {
	MessageCodes = append(MessageCodes, MsgSatisfactionRange, MsgComplaintTarget, MsgComplaintStep, AlertComplaintOverdue,
		MsgClosedComplaint, MsgCallbackClaimed, MsgCallbackClosed, MsgComplaintNeedsCall)
}
