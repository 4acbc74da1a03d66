package carehex

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Reason codes the dispatcher writes into offers and request events, beside
// the cancel reason codes; each has words in messages.js's "reasons". A
// reason that is none of them is a person's own words, shown as they are.
const (
	ReasonTaken            = "taken"             // another carer took the job
	ReasonDeviceRevoked    = "device_revoked"    // the carer's phone lost its token
	ReasonByOperator       = "by_operator"       // withdrawn by an operator
	ReasonUnavailable      = "unavailable"       // the carer could no longer be held for it
	ReasonAvailabilityLost = "availability_lost" // Redis restarted; offered again
	ReasonNoReason         = "declined"          // declined without saying why
)

// legacyReasons maps the English reasons written before codes existed to
// their codes, so that old histories read in words too.
var legacyReasons = map[string]string{
	"another provider accepted first":      ReasonTaken,
	"assigned by hand to another provider": ReasonTaken,
	"device revoked":                       ReasonDeviceRevoked,
	"withdrawn by the operator":            ReasonByOperator,
	"offer accepted":                       MsgOfferAccepted,
	"assigned by operator":                 MsgAssignedByHand,
	"assigned by the operator":             MsgAssignedByHand,
	"live availability was lost (Redis restart); the request is offered again": ReasonAvailabilityLost,
	"accepted; recorded after the accepting replica stopped":                   MsgOfferAccepted,
	"provider reported depart":                                                 MsgReportedDepart,
	"provider reported arrive":                                                 MsgReportedArrive,
	"provider reported complete":                                               MsgReportedComplete,
}

// reasonCode returns the code a stored reason stands for, or the reason.
func reasonCode(r string) string {
	if c, ok := legacyReasons[r]; ok {
		return c
	}
	return r
}

// statusReasons are the message codes a status change's reason may be.
var statusReasons = map[string]bool{MsgAssignedByHand: true, MsgMarkedUnfilled: true, MsgDispatchRetried: true,
	MsgProviderLeft: true, MsgOfferAccepted: true, MsgAssignedByOrg: true,
	MsgReportedDepart: true, MsgReportedArrive: true, MsgReportedComplete: true, MsgNoShow: true}

// ReasonWords says a status change's stored reason for a person: one of
// the codes above, or a person's own words (MsgFreeText); none when empty.
func ReasonWords(reason string) Message {
	r := reasonCode(Trimmed(reason))
	switch {
	case r == "":
		return Message{}
	case statusReasons[r]:
		return Msg(r)
	}
	// An assignment after the operator rang the carer: "phoned", then the
	// reason the console sent (a code, or the operator's words).
	if code, detail, _ := strings.Cut(r, ": "); code == AssignedByPhone {
		if detail = reasonCode(detail); detail == "" || statusReasons[detail] {
			return Msg(MsgAssignedByPhone, "reason", AssignedByPhone)
		}
		return Msg(MsgAssignedByPhone, "reason", r)
	}
	return Msg(MsgFreeText, "text", r)
}

// OfferWords says why an offer closed: accepted, declined (with the
// carer's reason), expired (after how long) or withdrawn (why); none while
// it is open.
func OfferWords(o *Offer) Message {
	r := reasonCode(Trimmed(o.Reason))
	switch o.Status {
	case OfferAccepted:
		return Msg(MsgOfferAccepted)
	case OfferDeclined:
		if r == "" {
			r = ReasonNoReason
		}
		return Msg(MsgOfferDeclined, "reason", r)
	case OfferExpired:
		if r == ReasonAvailabilityLost {
			return Msg(MsgOfferWithdrawn, "reason", r)
		}
		return Msg(MsgOfferExpired, "after_s", strconv.FormatInt(int64(o.ExpireTime.Sub(o.CreateTime).Round(time.Second)/time.Second), 10))
	case OfferWithdrawn:
		return Msg(MsgOfferWithdrawn, "reason", r)
	}
	return Message{}
}

// EventWords says what a request event means for a person, and which carer
// an offer event is about (offers are the request's, to find the offer an
// "offer_…" event closed). Offer events record the carer as the first word
// of their reason ("prv_… declined: …"); "offered" ones list them.
func EventWords(e *Event, offers []*Offer) (providerID string, m Message) {
	switch {
	case e.Type == EventOffered:
		ids := strings.Split(strings.TrimPrefix(e.Reason, "offered to "), ", ")
		if len(ids) == 1 {
			providerID = ids[0]
		}
		return providerID, Msg(MsgOfferedTo, "count", len(ids))
	case strings.HasPrefix(e.Type, EventOfferClosed):
		providerID, _, _ = strings.Cut(e.Reason, " ")
		status := OfferStatus(strings.TrimPrefix(e.Type, EventOfferClosed))
		for _, o := range offers {
			if o.ProviderID == providerID && o.Status == status {
				return providerID, OfferWords(o)
			}
		}
		_, detail, _ := strings.Cut(e.Reason, ": ")
		return providerID, OfferWords(&Offer{Status: status, Reason: detail})
	case e.Type == EventCancelled:
		return "", Msg(MsgCancelled, "reason", e.Reason)
	case e.Type == EventEscalation:
		return "", Msg(MsgEscalation, "reason", e.Reason)
	case e.Type == EventCreated:
		return "", Message{}
	case e.Type == EventRouted:
		return "", Msg(MsgRoutedTo, "org", e.Reason)
	}
	return "", ReasonWords(e.Reason)
}

// ActorName is who an actor string ("user:usr_…", "provider:prv_…",
// "system:dispatch") is, in the words a console shows: a carer's name and
// (staff) phone, a console user's username and role.
type ActorName struct {
	Kind  string // user, provider, system, family
	Name  string // empty for the system
	Role  Role   // a console user's
	Phone string // a carer's work phone
}

// NameStore resolves actors to names for histories and lists.
type NameStore interface {
	// ActorNames returns the names of the given actors, by actor string;
	// unknown ones are left out (the page shows their kind).
	ActorNames(ctx context.Context, actors []string) (map[string]ActorName, error)
}
