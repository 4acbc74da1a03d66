package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/carehex/carehex"
)

// How records join their chain: audit and insertEvent insert rows with a
// NULL place inside the writer's transaction, which commits as it always did.
// The sealer then chains every committed unchained row in its own short
// transaction: it locks the chain heads (FOR UPDATE on PostgreSQL, in the
// fixed order of carehex.TrailChains; SQLite's immediate transactions already
// serialise writers), numbers the rows after the head in time order, hashes
// them and moves the head. Replicas' sealers take turns on the head rows, so
// the chain never forks; the chain order is the sealing order.
//
// Why not chain inside each writer's transaction: holding the head lock
// through every writer's commit serialised all writes at the disk's fsync
// rate (BenchmarkCreateRequestParallel on PostgreSQL: 0.5 ms a request
// before, 3.2 ms with the lock in the writer's transaction). A sealer chains
// many commits per lock. The cost is a short window (one sealer pass after
// the commit, milliseconds) in which a committed row is not yet chained;
// VerifyTrail seals first, and a crash leaves the rows for the next pass or
// the next start.

// pendingTrail is the set of open transactions that wrote trail records, and
// which chains they wrote to.
type pendingTrail struct {
	mu sync.Mutex
	tx map[*sql.Tx][]carehex.TrailChain
}

func (p *pendingTrail) mark(tx *sql.Tx, chains ...carehex.TrailChain) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tx == nil {
		p.tx = map[*sql.Tx][]carehex.TrailChain{}
	}
	for _, c := range chains {
		if !slices.Contains(p.tx[tx], c) {
			p.tx[tx] = append(p.tx[tx], c)
		}
	}
}

// take forgets tx and returns its chains in lock order.
func (p *pendingTrail) take(tx *sql.Tx) []carehex.TrailChain {
	p.mu.Lock()
	defer p.mu.Unlock()
	got := p.tx[tx]
	delete(p.tx, tx)
	var out []carehex.TrailChain
	for _, c := range carehex.TrailChains {
		if slices.Contains(got, c) {
			out = append(out, c)
		}
	}
	return out
}

// sealer chains committed rows in the background, woken by each commit that
// wrote trail rows, with a periodic pass as the safety net for rows another
// replica committed and could not seal (it crashed). The DB owns it: Open
// starts it, Close stops it and seals what is left.
type sealer struct {
	nudge  chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	every  atomic.Int64 // the safety net's period, a time.Duration (SetReconcile)
}

// sealEvery is the safety net's period unless SetReconcile says otherwise:
// the default reconcile.
const sealEvery = 20 * time.Second

// sealGather is how long a woken sealer waits for more commits before its
// pass. Each pass is a write transaction (on SQLite, through the one writer,
// with its own fsync); sealing after every commit doubled the writer's
// transactions under load (12% of the CPU at 100 requests/s in
// docs/LOAD.md) and queued creates behind it. Waiting a fifth of a second
// chains a burst in one pass; nothing reads the chain sooner (VerifyTrail
// and a clean shutdown seal first).
const sealGather = 200 * time.Millisecond

// SetReconcile sets the period of the store's own safety-net pass (the
// trail sealer's) to the reconcile interval the rest of the process uses, so
// that no loop asks SQL more often than it. d <= 0 leaves it as it is.
func (s *DB) SetReconcile(d time.Duration) {
	if s.sealer != nil && d > 0 {
		s.sealer.every.Store(int64(d))
	}
}

func (s *DB) startSealer() {
	ctx, cancel := context.WithCancel(context.Background())
	s.sealer = &sealer{nudge: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	sl := s.sealer
	sl.every.Store(int64(sealEvery))
	go func() {
		defer close(sl.done)
		t := time.NewTimer(sealEvery)
		defer t.Stop()
		for {
			t.Reset(time.Duration(sl.every.Load()))
			select {
			case <-ctx.Done():
				return
			case <-sl.nudge:
				select {
				case <-ctx.Done():
					return
				case <-time.After(sealGather):
				}
				// Commits during the wait asked again; this pass covers them.
				select {
				case <-sl.nudge:
				default:
				}
			case <-t.C:
			}
			// A failed pass leaves the rows unchained; the next wake or
			// tick retries, and VerifyTrail seals before it checks.
			_ = s.SealTrail(ctx)
		}
	}()
}

// wake asks for a pass; a pass already asked for covers this commit too.
func (sl *sealer) wake() {
	if sl == nil {
		return
	}
	select {
	case sl.nudge <- struct{}{}:
	default:
	}
}

// stopSealer stops the background pass and chains what is left, so a clean
// shutdown leaves nothing unchained.
func (s *DB) stopSealer() {
	if s.sealer == nil {
		return
	}
	s.sealer.cancel()
	<-s.sealer.done
	s.sealer = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.SealTrail(ctx)
}

// SealTrail chains every committed row not yet in its chain, now.
func (s *DB) SealTrail(ctx context.Context) error {
	return s.inTx(ctx, "chain trail records", func(tx *sql.Tx) error {
		return s.seal(ctx, tx, carehex.TrailChains)
	})
}

// chainTable is where a chain's rows live and how they are read.
type chainTable struct {
	table    string
	seqCol   string // the place in the chain
	content  string // columns in carehex.AuditContent / EventContent order
	order    string // the order unchained rows join in
	scanLink func(sc interface{ Scan(...any) error }, l *carehex.TrailLink) error
}

var chainTables = map[carehex.TrailChain]chainTable{
	carehex.ChainAudit: {
		table: "audit_records", seqCol: "seq",
		content: "id, time, actor, action, object_type, object_id, detail",
		order:   "time, id",
		scanLink: func(sc interface{ Scan(...any) error }, l *carehex.TrailLink) error {
			var r carehex.AuditRecord
			var t int64
			if err := sc.Scan(&l.Seq, &l.PrevHash, &l.Hash, &r.ID, &t, &r.Actor, &r.Action, &r.ObjectType, &r.ObjectID, &r.Detail); err != nil {
				return err
			}
			r.Time = fromMicros(t)
			l.ID, l.Time, l.Content = r.ID, r.Time, carehex.AuditContent(&r)
			return nil
		},
	},
	carehex.ChainEvents: {
		table: "request_events", seqCol: "chain_seq",
		content: "id, request_id, seq, type, from_status, to_status, actor, reason, time",
		order:   "time, request_id, seq",
		scanLink: func(sc interface{ Scan(...any) error }, l *carehex.TrailLink) error {
			var e carehex.Event
			var from, to string
			var t int64
			if err := sc.Scan(&l.Seq, &l.PrevHash, &l.Hash, &e.ID, &e.RequestID, &e.Seq, &e.Type, &from, &to, &e.Actor, &e.Reason, &t); err != nil {
				return err
			}
			e.FromStatus, e.ToStatus, e.Time = carehex.Status(from), carehex.Status(to), fromMicros(t)
			l.ID, l.Time, l.Content = e.ID, e.Time, carehex.EventContent(&e)
			return nil
		},
	},
}

// seal chains the unchained rows of each chain visible to tx.
func (s *DB) seal(ctx context.Context, tx *sql.Tx, chains []carehex.TrailChain) error {
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR UPDATE"
	}
	for _, c := range chains {
		ct := chainTables[c]
		var head carehex.TrailAnchor
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT seq, hash FROM trail_heads WHERE chain = ?`+lock), string(c)).
			Scan(&head.Seq, &head.Hash); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT 0, '', '', `+ct.content+` FROM `+ct.table+
			` WHERE `+ct.seqCol+` IS NULL ORDER BY `+ct.order)
		if err != nil {
			return err
		}
		var links []carehex.TrailLink
		for rows.Next() {
			var l carehex.TrailLink
			if err := ct.scanLink(rows, &l); err != nil {
				rows.Close()
				return err
			}
			links = append(links, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(links) == 0 {
			continue
		}
		// Rows are updated a batch per statement, so chaining a bulk import
		// of many thousand records costs tens of statements, not thousands.
		// VALUES columns are column1… on both databases.
		const batch = 200
		for i := 0; i < len(links); i += batch {
			part := links[i:min(i+batch, len(links))]
			args := make([]any, 0, 4*len(part))
			for _, l := range part {
				h, err := carehex.TrailHash(head.Hash, c, l.Content)
				if err != nil {
					return err
				}
				head.Seq++
				args = append(args, l.ID, head.Seq, head.Hash, h)
				head.Hash = h
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE `+ct.table+` SET `+ct.seqCol+` = v.column2, prev_hash = v.column3, hash = v.column4
				FROM (VALUES `+repeatRow("(?, CAST(? AS BIGINT), ?, ?)", len(part))+`) AS v
				WHERE `+ct.table+`.id = v.column1`), args...); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE trail_heads SET seq = ?, hash = ? WHERE chain = ?`),
			head.Seq, head.Hash, string(c)); err != nil {
			return err
		}
	}
	return nil
}

// TrailHeads returns each chain's head as it is now, stamped with the store's
// clock.
func (s *DB) TrailHeads(ctx context.Context) ([]carehex.TrailAnchor, error) {
	now := s.stamp()
	rows, err := s.db.QueryContext(ctx, `SELECT chain, seq, hash FROM trail_heads ORDER BY chain`)
	if err != nil {
		return nil, s.wrap(err, "read trail heads")
	}
	defer rows.Close()
	var out []carehex.TrailAnchor
	for rows.Next() {
		a := carehex.TrailAnchor{Time: now}
		if err := rows.Scan(&a.Chain, &a.Seq, &a.Hash); err != nil {
			return nil, s.wrap(err, "read trail heads")
		}
		out = append(out, a)
	}
	return out, s.wrap(rows.Err(), "read trail heads")
}

// WriteTrailAnchor records every chain's head now as an anchor and returns
// the anchors written.
func (s *DB) WriteTrailAnchor(ctx context.Context) ([]carehex.TrailAnchor, error) {
	if err := s.SealTrail(ctx); err != nil {
		return nil, err
	}
	heads, err := s.TrailHeads(ctx)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, "write trail anchor", func(tx *sql.Tx) error {
		for _, a := range heads {
			// Two replicas anchoring in the same microsecond wrote the same
			// thing; the second is a no-op.
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO trail_anchors (chain, time, seq, hash) VALUES (?, ?, ?, ?)
				ON CONFLICT (chain, time) DO NOTHING`), string(a.Chain), micros(a.Time), a.Seq, a.Hash); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "trail.anchor", ObjectType: "trail", Detail: anchorDetail(heads)})
	})
	if err == nil {
		// The anchor's own record joins the chain before this returns.
		err = s.SealTrail(ctx)
	}
	if err != nil {
		return nil, err
	}
	return heads, nil
}

func anchorDetail(as []carehex.TrailAnchor) string {
	var b []byte
	for i, a := range as {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, string(a.Chain)+"="+strconv.FormatInt(a.Seq, 10)+":"+a.Hash...)
	}
	return string(b)
}

// TrailAnchors returns the stored anchors taken at or after since, oldest first.
func (s *DB) TrailAnchors(ctx context.Context, since time.Time) ([]carehex.TrailAnchor, error) {
	return queryAll(ctx, s, "read trail anchors", func(sc interface{ Scan(...any) error }) (carehex.TrailAnchor, error) {
		var a carehex.TrailAnchor
		var t int64
		err := sc.Scan(&a.Chain, &t, &a.Seq, &a.Hash)
		a.Time = fromMicros(t)
		return a, err
	}, s.rebind(`SELECT chain, time, seq, hash FROM trail_anchors WHERE time >= ? ORDER BY time, chain`), micros(since))
}

// LastTrailAnchor returns when the latest anchor was taken, zero if never.
func (s *DB) LastTrailAnchor(ctx context.Context) (time.Time, error) {
	var t sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(time) FROM trail_anchors`).Scan(&t); err != nil {
		return time.Time{}, s.wrap(err, "read last trail anchor")
	}
	return fromMicros(t.Int64), nil
}

// ChainReport is what verification found in one chain.
type ChainReport struct {
	Chain    carehex.TrailChain  `json:"chain"`
	Table    string              `json:"table"`
	From     int64               `json:"from_seq"` // the first place checked
	Records  int                 `json:"records"`  // records checked
	Head     carehex.TrailAnchor `json:"head"`     // the head the store recorded
	Anchors  int                 `json:"anchors"`  // anchors checked against
	Unsealed int                 `json:"unsealed"` // rows committed while verifying, not yet chained
	Fault    *carehex.TrailFault `json:"-"`
}

// TrailReport is the result of VerifyTrail: one report per chain.
type TrailReport struct {
	Chains []ChainReport
}

// Fault is the first fault of any chain, nil when every chain is intact.
func (r TrailReport) Fault() *carehex.TrailFault {
	for _, c := range r.Chains {
		if c.Fault != nil {
			return c.Fault
		}
	}
	return nil
}

// VerifyTrail recomputes both chains from the records written at or after
// from (the zero time: from the start) and checks them against the stored
// heads and anchors and the extra anchors given (e.g. an exported file). It
// is the one check `carehex audit verify`, the fault test and the simulator
// run. An error means the check could not run; a broken chain is reported in
// the TrailReport.
func (s *DB) VerifyTrail(ctx context.Context, from time.Time, extra []carehex.TrailAnchor) (TrailReport, error) {
	// Rows committed moments ago join their chain first, so that what is
	// checked is everything written until now.
	if err := s.SealTrail(ctx); err != nil {
		return TrailReport{}, err
	}
	stored, err := s.TrailAnchors(ctx, time.Time{})
	if err != nil {
		return TrailReport{}, err
	}
	// Heads are read before the rows: appends after this moment only add
	// rows beyond the head, which the check allows.
	heads, err := s.TrailHeads(ctx)
	if err != nil {
		return TrailReport{}, err
	}
	anchors := append(append(append([]carehex.TrailAnchor{}, stored...), extra...), heads...)
	var rep TrailReport
	for _, c := range carehex.TrailChains {
		ct := chainTables[c]
		cr := ChainReport{Chain: c, Table: ct.table}
		for _, h := range heads {
			if h.Chain == c {
				cr.Head = h
			}
		}
		for _, a := range anchors {
			if a.Chain == c {
				cr.Anchors++
			}
		}
		cr.Anchors-- // the head is not an anchor of its own
		start := int64(1)
		if !from.IsZero() {
			var first sql.NullInt64
			if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT MIN(`+ct.seqCol+`) FROM `+ct.table+` WHERE time >= ?`),
				micros(from)).Scan(&first); err != nil {
				return TrailReport{}, s.wrap(err, "verify trail")
			}
			start = cr.Head.Seq + 1
			if first.Valid {
				start = first.Int64
			}
		}
		cr.From = start
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+ct.seqCol+`, prev_hash, hash, `+ct.content+` FROM `+ct.table+
			` WHERE `+ct.seqCol+` >= ? ORDER BY `+ct.seqCol), start)
		if err != nil {
			return TrailReport{}, s.wrap(err, "verify trail")
		}
		var links []carehex.TrailLink
		for rows.Next() {
			var l carehex.TrailLink
			if err := ct.scanLink(rows, &l); err != nil {
				rows.Close()
				return TrailReport{}, s.wrap(err, "verify trail")
			}
			links = append(links, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return TrailReport{}, s.wrap(err, "verify trail")
		}
		base := carehex.TrailAnchor{Chain: c, Seq: 0, Hash: carehex.GenesisHash}
		if start > 1 {
			// Checking part of a chain trusts the link into the part: the
			// first record's prev_hash stands for the record before it.
			base.Seq = start - 1
			if len(links) > 0 && links[0].Seq == start {
				base.Hash = links[0].PrevHash
			} else {
				base.Hash = cr.Head.Hash
			}
		}
		cr.Records = len(links)
		cr.Fault = carehex.VerifyTrail(c, base, links, anchors)
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+ct.table+` WHERE `+ct.seqCol+` IS NULL`).Scan(&cr.Unsealed); err != nil {
			return TrailReport{}, s.wrap(err, "verify trail")
		}
		rep.Chains = append(rep.Chains, cr)
	}
	return rep, nil
}
