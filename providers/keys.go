package providers

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/carehex/carehex"
	"github.com/redis/go-redis/v9"
)

// Every Redis key this package uses is built by one function in this file.
//
// All live state of one dispatch zone (a city) carries the hash tag {zone},
// so every key lands in one Redis Cluster slot and a Lua script may touch any
// of them: a dispatch never crosses a city, and a city's providers fit one
// node with room to spare. A multi-city deployment spreads its zones over the
// cluster's slots. The price is that one city's load is served by one node's
// single thread, which has far more to give than a city's hotline and phones
// ask of it (memory and Redis time per provider, lookup, claim and heartbeat
// are in docs/PERFORMANCE.md, "What one zone costs Redis").
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
// member, a large share of its CPU per lookup; seconds rather than
// milliseconds keep the member a 32-bit listpack integer shorter.
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
// benchmark compares against, and costs memory per provider the index does
// not need.
func geoKey(zone string) string { return keyPrefix(zone) + "geo" }

// readyKey is a STRING written by Rebuild once the zone's state is complete:
// the rebuild time in Unix milliseconds. Redis holds only state that can be
// rebuilt; the key's absence means Redis lost the zone (restart without
// persistence, flush, failover to an empty replica) and Rebuild must run.
func readyKey(zone string) string { return keyPrefix(zone) + "ready" }

// Fields of the provider hash (providerKey). One letter each: the hash stays a
// small listpack, and a city's worth of providers saves megabytes.
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

// scanKeys walks the keys matching pattern on every node (every master of a
// cluster) and hands them to batch 1,000 at a time, with the node's client,
// so batch can pipeline per node. The zone's keys share one slot, but the
// walk does not rely on knowing which node holds it.
func scanKeys(ctx context.Context, rdb redis.UniversalClient, pattern string, batch func(ctx context.Context, c *redis.Client, keys []string) error) error {
	node := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				if err := batch(ctx, c, keys); err != nil {
					return err
				}
				keys = keys[:0]
			}
		}
		if err := iter.Err(); err != nil || len(keys) == 0 {
			return err
		}
		return batch(ctx, c, keys)
	}
	switch c := rdb.(type) {
	case *redis.Client:
		return node(ctx, c)
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, node)
	}
	return fmt.Errorf("cannot walk the nodes of a %T", rdb)
}

// DeleteZone deletes every key of one zone (and nothing else): the
// benchmarks' clean-up, and an operator's way to retire a zone. What it
// deletes can be rebuilt (Rebuild), but until then the zone is Lost.
func DeleteZone(ctx context.Context, rdb redis.UniversalClient, zone string) error {
	if _, err := New(rdb, Options{Zone: zone}); err != nil {
		return err
	}
	err := scanKeys(ctx, rdb, keyPrefix(zone)+"*", func(ctx context.Context, c *redis.Client, keys []string) error {
		return c.Unlink(ctx, keys...).Err()
	})
	if err != nil {
		return (&Store{}).fail(err, "delete zone")
	}
	return nil
}

// Footprint is what one zone costs Redis, by MEMORY USAGE (key, value and
// hash-table entry) of its own keys: unlike a difference of INFO
// used_memory, it counts only this zone, whatever else the server does.
type Footprint struct {
	Bytes    int64 // every key of the zone, the GEO set included
	GeoBytes int64 // the GEO set alone (geoKey); 0 unless Options.GeoSet
	// IndexSets and IndexMembers count the non-empty availability index
	// sets (indexKey) and their members: how full a (skill, cell) set is.
	IndexSets, IndexMembers int64
}

// Footprint measures the zone's keys. It reads every key, so it is for
// benchmarks and capacity planning, not for a request path.
func (s *Store) Footprint(ctx context.Context) (Footprint, error) {
	var bytes, sets, members atomic.Int64
	err := scanKeys(ctx, s.rdb, keyPrefix(s.zone)+"*", func(ctx context.Context, c *redis.Client, keys []string) error {
		cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.MemoryUsage(ctx, k, 0)
			}
			return nil
		})
		for _, cmd := range cmds {
			bytes.Add(cmd.(*redis.IntCmd).Val())
		}
		return err
	})
	if err == nil {
		err = scanKeys(ctx, s.rdb, s.aPrefix+"*", func(ctx context.Context, c *redis.Client, keys []string) error {
			cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.ZCard(ctx, k)
				}
				return nil
			})
			for _, cmd := range cmds {
				sets.Add(1)
				members.Add(cmd.(*redis.IntCmd).Val())
			}
			return err
		})
	}
	out := Footprint{Bytes: bytes.Load(), IndexSets: sets.Load(), IndexMembers: members.Load()}
	if err == nil && s.geo {
		out.GeoBytes, err = s.rdb.MemoryUsage(ctx, s.geoSet, 0).Result()
		if err == redis.Nil { // no provider has a position yet
			err = nil
		}
	}
	if err != nil {
		return out, s.fail(err, "footprint")
	}
	return out, nil
}
