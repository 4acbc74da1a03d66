package providers

import (
	"strconv"

	"github.com/carehex/carehex"
)

// Every Redis key this package uses is built by one function in this file.
//
// All live state of one dispatch zone (a city) carries the hash tag {zone},
// so every key lands in one Redis Cluster slot and a Lua script may touch any
// of them: a dispatch never crosses a city, and a city's providers (100,000
// at ~480 bytes each is under 50 MB) fit one node with room to spare. A
// multi-city deployment spreads its zones over the cluster's slots. The
// price is that one city's load is served by one node's single thread: ~40
// µs of it per lookup, ~20 per claim, ~25 per heartbeat, far more than a
// city's hotline and phones ask of it.
//
// Scripts that must reach keys known only from stored state (a provider's old
// cell and skills, the providers named in the offer deadline set) are given a
// key prefix from this file as an ARGV and append the rest; the prefix carries
// the zone's hash tag, so the keys they build share the slot of the keys they
// were given.

// keyPrefix starts every key of zone: "ch:{zone}:".
func keyPrefix(zone string) string { return "ch:{" + zone + "}:" }

// providerKey is a HASH: the live state of one provider. Its fields are
// single letters because there is one hash per provider (listed at the end
// of this file).
func providerKey(zone, providerID string) string { return providerKeyPrefix(zone) + providerID }

// providerKeyPrefix is providerKey without the provider ID, for scripts that
// walk providers named in other keys (sweep, geo search).
func providerKeyPrefix(zone string) string { return keyPrefix(zone) + "p:" }

// indexKey is a ZSET, the availability index: the providers of one skill
// whose status is available and whose last position lies in one H3 cell.
// There are sets at two resolutions (Options.IndexRes and one finer); a
// provider is in one cell of each, and a cell's index says its resolution.
// Member "<providerID>|<lat>|<lng>|<seen>": the position exactly as stored in
// the provider hash (5 decimals) and the last heartbeat in Unix seconds;
// score the last heartbeat again. A lookup reads everything it filters on
// and returns (skill: the key; available: membership; fresh: the score,
// filtered by Redis; distance and last seen: the member) without touching
// the provider hashes. The time is in the member as well as the score
// because asking Redis for scores (WITHSCORES) makes it format a double per
// member, a fifth of its CPU per lookup; seconds rather than milliseconds
// save 7 bytes per member (a 32-bit listpack integer, three digits).
func indexKey(zone, skill string, cell carehex.Cell) string {
	return indexKeyPrefix(zone) + skill + ":" + strconv.FormatUint(uint64(cell), 16)
}

// indexKeyPrefix is indexKey without "<skill>:<cell>", for the scripts that
// move a provider between cells: they know the old cell and skills only from
// the provider hash.
func indexKeyPrefix(zone string) string { return keyPrefix(zone) + "a:" }

// offersKey is a ZSET of outstanding offers: member provider ID, score the
// offer's deadline in Unix milliseconds. The sweeper releases the providers
// whose deadline has passed by more than a grace period (their claimer died).
func offersKey(zone string) string { return keyPrefix(zone) + "offers" }

// geoKey is a GEO set (a ZSET of geohash scores) of the last position of
// every provider with one, member the provider ID. It exists only when
// Options.GeoSet is on: it serves CandidatesGeo, the GEOSEARCH alternative the
// benchmark compares against, and costs ~120 bytes per provider.
func geoKey(zone string) string { return keyPrefix(zone) + "geo" }

// readyKey is a STRING written by Rebuild once the zone's state is complete:
// the rebuild time in Unix milliseconds. Redis holds only state that can be
// rebuilt; the key's absence means Redis lost the zone (restart without
// persistence, flush, failover to an empty replica) and Rebuild must run.
func readyKey(zone string) string { return keyPrefix(zone) + "ready" }

// Fields of the provider hash (providerKey). One letter each: the hash stays a
// small listpack and 100,000 providers save a few megabytes.
//
//	s  status: o offline, a available, f offered (claimed), b busy
//	la latitude, degrees, 5 decimals (~1 m); "" until the first position
//	ln longitude, likewise
//	ac reported accuracy, whole metres
//	c  H3 cells of (la, ln) at the two index resolutions, hex, coarse first,
//	   comma-separated
//	t  last heartbeat, Unix ms
//	k  skills as on the roster, comma-separated
//	w  1 if the provider's last heartbeat said available, else 0: where a
//	   released offer or a finished visit returns to
//	f  fencing token, bumped by every claim; never decreases
//	r  request ID of the current claim or visit
//	x  deadline of the current offer, Unix ms
