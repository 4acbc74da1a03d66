package carehex

import (
	"context"
	"fmt"
)

// Topic says whose news a Notice is: what a waiter subscribes to.
type Topic uint8

const (
	// TopicProvider: a provider's offers or visits changed (its phone's long
	// poll and offer stream wait on it). ID is the provider ID.
	TopicProvider Topic = iota + 1
	// TopicRequest: a request's status or history changed. ID is the request ID.
	TopicRequest
	// TopicResident: something a resident's family follows changed (a
	// request or visit of theirs). ID is the resident ID.
	TopicResident
	// TopicConsole: the operators' board changed (requests, offers,
	// alerts). ID is empty: there is one board.
	TopicConsole
	// TopicDispatch: a request may need a provider now (it was created, or
	// it went back to pending). ID is empty: the dispatcher wakes and reads
	// its queue. Apart from the console's notice so that the dispatcher is
	// not woken by every visit event, nor by the offers it writes itself.
	TopicDispatch
	// TopicOutbox: a family notification was written to the outbox. ID is
	// empty: the relay wakes and sends what is due.
	TopicOutbox
	// TopicCall: the telephone system reported a call event at an
	// extension (ringing, answered, …). ID is the extension: the console
	// signed in there pops the caller's card.
	TopicCall
)

// DispatchNotice wakes the dispatchers.
var DispatchNotice = Notice{Topic: TopicDispatch}

// OutboxNotice wakes the notification relays.
var OutboxNotice = Notice{Topic: TopicOutbox}

var topicNames = [...]string{TopicProvider: "provider", TopicRequest: "request", TopicResident: "resident", TopicConsole: "console",
	TopicDispatch: "dispatch", TopicOutbox: "outbox", TopicCall: "call"}

// String is the topic's name: provider, request, resident, console, dispatch, outbox or call.
func (t Topic) String() string {
	if t.Valid() {
		return topicNames[t]
	}
	return fmt.Sprintf("topic(%d)", uint8(t))
}

// Valid reports whether t is one of the seven topics.
func (t Topic) Valid() bool { return t >= TopicProvider && t <= TopicCall }

// ParseTopic is String's inverse.
func ParseTopic(s string) (Topic, error) {
	for t := TopicProvider; t <= TopicCall; t++ {
		if topicNames[t] == s {
			return t, nil
		}
	}
	return 0, Errorf(EINVALID, "topic", "unknown notice topic %q (want provider, request, resident, console, dispatch, outbox or call)", s)
}

// Notice says "something about Topic/ID changed" and nothing else: no
// payload, so a lost, repeated or reordered notice is harmless. Whoever waits
// on it re-reads its state from the system of record, which alone says what
// changed; that is what lets notices travel over lossy Redis pub/sub and be
// coalesced (ten notices to a phone that has not read yet are one wake-up).
type Notice struct {
	Topic Topic
	ID    string // provider, request or resident ID; empty for TopicConsole
}

// ConsoleNotice is the one notice of the operators' board.
var ConsoleNotice = Notice{Topic: TopicConsole}

// String is "topic:id", the form notices travel in between replicas.
func (n Notice) String() string { return n.Topic.String() + ":" + n.ID }

// Publisher tells waiters that something changed. The system of record calls
// it after a transaction commits, never inside one, so a waiter woken by a
// notice always finds the change when it re-reads. Publishing is best effort:
// a write never fails because a notice could not be sent, and every waiter
// also re-reads on a slow reconcile timer, so a lost notice delays news and
// never loses it (DESIGN.md invariant 10; docs/RELIABILITY.md "Notifications").
type Publisher interface {
	Publish(ctx context.Context, notices ...Notice) error
}

// Subscriber hands out wake-ups: the channel receives a value after any of
// notices is published (values coalesce: one waiting value stands for any
// number of notices), until cancel is called. A waiter subscribes, then reads
// its state, then waits, so a notice published between the read and the wait
// is not lost. notify.Hub implements it; the waiters (long polls, streams, the
// dispatcher) take this interface so that they need no notify import.
type Subscriber interface {
	Subscribe(notices ...Notice) (wake <-chan struct{}, cancel func())
}

// NoSubscriber never wakes anyone: waiters given it rely on their reconcile
// timer alone (tests, and tools that run without a hub).
type NoSubscriber struct{}

// Subscribe returns a channel that never receives.
func (NoSubscriber) Subscribe(...Notice) (<-chan struct{}, func()) { return nil, func() {} }
