// Package notify owns pushing notifications to people. Two parts live here:
// the hub that hands a change to whoever waits for it, in process and across
// replicas over Redis pub/sub (notify.go), and the outbox relay (relay.go),
// which delivers the family notifications that the system of record
// committed together with the state changes they announce, at least once,
// to a Sender (the log, or a webhook to a push service).
package notify
