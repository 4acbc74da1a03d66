package notify

// Every Redis name this package uses is built by one function in this file.

// noticeChannel is a pub/sub CHANNEL (not a key: it holds nothing, and a message
// published while nobody listens is gone): the notices of one dispatch zone,
// every replica publishing to it and subscribed to it. One channel per zone
// keeps a replica to one hubSubscription. It carries the zone's hash tag, like
// every key in providers/keys.go, so on Redis Cluster the sharded channel
// (SPUBLISH/SSUBSCRIBE) lives on the node that serves the zone's
// availability, and a zone's notices never cross the cluster bus to every
// node as classic PUBLISH would.
//
// A message is the publishing replica's ID, then one "topic:id" per line
// (see encodeNotices).
func noticeChannel(zone string) string { return "ch:{" + zone + "}:notices" }
