package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/carehex/carehex"
)

var (
	_ carehex.OrganisationStore = (*DB)(nil)
	_ carehex.FundingStore      = (*DB)(nil)
)

// CreateOrganisation validates o, sets its ID and time, and saves it, active.
func (s *DB) CreateOrganisation(ctx context.Context, o *carehex.Organisation) error {
	if o == nil {
		return carehex.Errorf(carehex.EINVALID, "organisation", "organisation is required")
	}
	o.Name = carehex.Trimmed(o.Name)
	if err := o.Validate(); err != nil {
		return err
	}
	if o.ID == "" {
		o.ID = carehex.NewID("org")
	}
	area, _ := json.Marshal(nonNil(o.Area)) // a list of strings cannot fail to encode
	now := s.stamp()
	err := s.inTx(ctx, "create organisation", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM organisations WHERE name = ?`), o.Name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return carehex.Errorf(carehex.ECONFLICT, "name", "an organisation named %q exists", o.Name)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO organisations (id, name, kind, area, contact, active, create_time)
			VALUES (?, ?, ?, ?, ?, 1, ?)`), o.ID, o.Name, string(o.Kind), string(area), o.Contact, micros(now)); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "organisation.create", ObjectType: "organisation", ObjectID: o.ID})
	})
	if err != nil {
		return err
	}
	o.Active, o.CreateTime = true, now
	return nil
}

const orgSelect = `SELECT id, name, kind, area, contact, active, create_time FROM organisations`

func scanOrg(sc interface{ Scan(...any) error }) (*carehex.Organisation, error) {
	var (
		o         carehex.Organisation
		kind, are string
		active, t int64
	)
	if err := sc.Scan(&o.ID, &o.Name, &kind, &are, &o.Contact, &active, &t); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(are), &o.Area); err != nil {
		return nil, err
	}
	o.Kind, o.Active, o.CreateTime = carehex.OrgKind(kind), active != 0, fromMicros(t)
	return &o, nil
}

// Organisation returns one organisation.
func (s *DB) Organisation(ctx context.Context, id string) (*carehex.Organisation, error) {
	o, err := scanOrg(s.db.QueryRowContext(ctx, s.rebind(orgSelect+` WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, carehex.Errorf(carehex.ENOTFOUND, "id", "no organisation %q", id)
	}
	if err != nil {
		return nil, s.wrap(err, "read organisation")
	}
	return o, nil
}

// Organisations lists every organisation by name.
func (s *DB) Organisations(ctx context.Context) ([]*carehex.Organisation, error) {
	return queryAll(ctx, s, "list organisations", scanOrg, orgSelect+` ORDER BY name, id`)
}

// providerOrg decides which organisation a new provider joins: the one it
// names by ID (which must exist), else the one whose name is its free-text
// organisation, else the default one.
func (s *DB) providerOrg(ctx context.Context, q querier, p *carehex.Provider) (string, error) {
	if p.OrgID != "" {
		var n int
		if err := q.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM organisations WHERE id = ?`), p.OrgID).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return "", carehex.Errorf(carehex.EINVALID, "org_id", "no organisation %q", p.OrgID)
		}
		return p.OrgID, nil
	}
	if p.Organisation != "" {
		var id string
		err := q.QueryRowContext(ctx, s.rebind(`SELECT id FROM organisations WHERE name = ?`), p.Organisation).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	return carehex.DefaultOrganisationID, nil
}

// SetProviderOrganisation moves a provider to organisation orgID.
func (s *DB) SetProviderOrganisation(ctx context.Context, providerID, orgID string) error {
	return s.inTx(ctx, "move provider", func(tx *sql.Tx) error {
		if _, err := s.providerOrg(ctx, tx, &carehex.Provider{OrgID: orgID}); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE providers SET org_id = ? WHERE id = ?`), orgID, providerID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return carehex.Errorf(carehex.ENOTFOUND, "provider_id", "no provider %q", providerID)
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "provider.organisation", ObjectType: "provider",
			ObjectID: providerID, Detail: orgID})
	})
}

// CreateContract validates c, sets its ID and saves it.
func (s *DB) CreateContract(ctx context.Context, c *carehex.Contract) error {
	if c == nil {
		return carehex.Errorf(carehex.EINVALID, "contract", "contract is required")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.ID == "" {
		c.ID = carehex.NewID("con")
	}
	c.ValidFrom, c.ValidTo = precise(c.ValidFrom), precise(c.ValidTo)
	services, _ := json.Marshal(c.Services)
	return s.inTx(ctx, "create contract", func(tx *sql.Tx) error {
		if _, err := s.providerOrg(ctx, tx, &carehex.Provider{OrgID: c.OrgID}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO contracts (id, org_id, services, unit, price_fen, round_step_s,
			rounding, day_cap_fen, month_cap_fen, valid_from, valid_to, create_time, requires_card_scan)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.ID, c.OrgID, string(services), string(c.Unit), c.PriceFen, int64(c.RoundStep/time.Second), string(c.Rounding),
			c.DayCapFen, c.MonthCapFen, micros(c.ValidFrom), micros(c.ValidTo), micros(s.stamp()), boolInt(c.RequiresCardScan)); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "contract.create", ObjectType: "contract", ObjectID: c.ID, Detail: c.OrgID})
	})
}

func scanContract(sc interface{ Scan(...any) error }) (*carehex.Contract, error) {
	var (
		c                      carehex.Contract
		services, unit, rnd    string
		step, from, to, create int64
		card                   int64
	)
	if err := sc.Scan(&c.ID, &c.OrgID, &services, &unit, &c.PriceFen, &step, &rnd, &c.DayCapFen, &c.MonthCapFen,
		&from, &to, &create, &card); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(services), &c.Services); err != nil {
		return nil, err
	}
	c.Unit, c.Rounding, c.RoundStep = carehex.Unit(unit), carehex.Rounding(rnd), time.Duration(step)*time.Second
	c.ValidFrom, c.ValidTo = fromMicros(from), fromMicros(to)
	c.RequiresCardScan = card != 0
	return &c, nil
}

// Contracts lists an organisation's contracts, or every contract when orgID
// is empty, oldest first.
func (s *DB) Contracts(ctx context.Context, orgID string) ([]*carehex.Contract, error) {
	q := `SELECT id, org_id, services, unit, price_fen, round_step_s, rounding, day_cap_fen, month_cap_fen,
		valid_from, valid_to, create_time, requires_card_scan FROM contracts`
	var args []any
	if orgID != "" {
		q += ` WHERE org_id = ?`
		args = append(args, orgID)
	}
	return queryAll(ctx, s, "list contracts", scanContract, s.rebind(q+` ORDER BY valid_from, id`), args...)
}

// PutSubsidyCategory adds or replaces a row of the subsidy table.
func (s *DB) PutSubsidyCategory(ctx context.Context, c *carehex.SubsidyCategory) error {
	if c == nil || carehex.Trimmed(c.Code) == "" {
		return carehex.Errorf(carehex.EINVALID, "code", "code is required")
	}
	if carehex.Trimmed(c.NameZh) == "" {
		return carehex.Errorf(carehex.EINVALID, "name_zh", "name_zh is required")
	}
	if c.ShareBP < 0 || c.ShareBP > carehex.FullShareBP {
		return carehex.Errorf(carehex.EINVALID, "share_bp", "share_bp must be between 0 and %d", carehex.FullShareBP)
	}
	if c.AllowanceFen < 0 || c.AllowanceFen > carehex.MaxPriceFen {
		return carehex.Errorf(carehex.EINVALID, "allowance_fen", "allowance_fen must be between 0 and %d fen", int64(carehex.MaxPriceFen))
	}
	return s.inTx(ctx, "put subsidy category", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO subsidy_categories (code, name_zh, name_en, share_bp, allowance_fen)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (code) DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en,
			share_bp = excluded.share_bp, allowance_fen = excluded.allowance_fen`),
			c.Code, c.NameZh, c.NameEn, c.ShareBP, c.AllowanceFen); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "subsidy_category.put", ObjectType: "subsidy_category", ObjectID: c.Code})
	})
}

// SubsidyCategories lists the subsidy table by code.
func (s *DB) SubsidyCategories(ctx context.Context) ([]*carehex.SubsidyCategory, error) {
	return queryAll(ctx, s, "list subsidy categories", func(sc interface{ Scan(...any) error }) (*carehex.SubsidyCategory, error) {
		var c carehex.SubsidyCategory
		return &c, sc.Scan(&c.Code, &c.NameZh, &c.NameEn, &c.ShareBP, &c.AllowanceFen)
	}, `SELECT code, name_zh, name_en, share_bp, allowance_fen FROM subsidy_categories ORDER BY code`)
}

// CreateFunding validates f, sets its ID and time, and saves it.
func (s *DB) CreateFunding(ctx context.Context, f *carehex.Funding) error {
	if f == nil {
		return carehex.Errorf(carehex.EINVALID, "funding", "funding is required")
	}
	if err := f.Validate(); err != nil {
		return err
	}
	if f.ID == "" {
		f.ID = carehex.NewID("fund")
	}
	f.ValidFrom, f.ValidTo = precise(f.ValidFrom), precise(f.ValidTo)
	now := s.stamp()
	err := s.inTx(ctx, "create funding", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM residents WHERE id = ?`), f.ResidentID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return carehex.Errorf(carehex.EINVALID, "resident_id", "no resident %q", f.ResidentID)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO resident_funding (id, resident_id, kind, category, share_bp,
			allowance_fen, valid_from, valid_to, create_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			f.ID, f.ResidentID, string(f.Kind), f.Category, f.ShareBP, f.AllowanceFen, micros(f.ValidFrom), micros(f.ValidTo),
			micros(now)); err != nil {
			return err
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "funding.create", ObjectType: "resident", ObjectID: f.ResidentID, Detail: f.ID})
	})
	if err != nil {
		return err
	}
	f.CreateTime = now
	return nil
}

// ImportFunding saves many funding records in one transaction, with one
// audit record: the demo's and the simulator's subsidised residents.
// Every record is validated first; one bad record saves none.
func (s *DB) ImportFunding(ctx context.Context, fs []*carehex.Funding) error {
	for i, f := range fs {
		if f == nil {
			return carehex.Errorf(carehex.EINVALID, "funding", "funding %d is missing", i)
		}
		if err := f.Validate(); err != nil {
			return err
		}
	}
	if len(fs) == 0 {
		return nil
	}
	now := s.stamp()
	return s.inTx(ctx, "import funding", func(tx *sql.Tx) error {
		for i := 0; i < len(fs); i += statementBatch {
			part := fs[i:min(i+statementBatch, len(fs))]
			args := make([]any, 0, 9*len(part))
			for _, f := range part {
				if f.ID == "" {
					f.ID = carehex.NewID("fund")
				}
				f.ValidFrom, f.ValidTo, f.CreateTime = precise(f.ValidFrom), precise(f.ValidTo), now
				args = append(args, f.ID, f.ResidentID, string(f.Kind), f.Category, f.ShareBP, f.AllowanceFen,
					micros(f.ValidFrom), micros(f.ValidTo), micros(now))
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO resident_funding (id, resident_id, kind, category, share_bp,
				allowance_fen, valid_from, valid_to, create_time) VALUES `+repeatRow("(?, ?, ?, ?, ?, ?, ?, ?, ?)", len(part))), args...); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, &carehex.AuditRecord{Action: "funding.import", ObjectType: "resident_funding",
			Detail: fmt.Sprintf("%d records", len(fs))})
	})
}

const fundingSelect = `SELECT id, resident_id, kind, category, share_bp, allowance_fen, valid_from, valid_to, create_time
	FROM resident_funding`

func scanFunding(sc interface{ Scan(...any) error }) (*carehex.Funding, error) {
	var (
		f                    carehex.Funding
		kind                 string
		from, to, createTime int64
	)
	if err := sc.Scan(&f.ID, &f.ResidentID, &kind, &f.Category, &f.ShareBP, &f.AllowanceFen, &from, &to, &createTime); err != nil {
		return nil, err
	}
	f.Kind, f.ValidFrom, f.ValidTo, f.CreateTime = carehex.FundingKind(kind), fromMicros(from), fromMicros(to), fromMicros(createTime)
	return &f, nil
}

// ResidentFunding lists a resident's funding records, oldest first.
func (s *DB) ResidentFunding(ctx context.Context, residentID string) ([]*carehex.Funding, error) {
	return queryAll(ctx, s, "list funding", scanFunding, s.rebind(fundingSelect+` WHERE resident_id = ? ORDER BY valid_from, id`), residentID)
}

// FundingValidIn lists every funding record valid at some time in [from, to),
// by resident: what one month's settlement needs, in one query.
func (s *DB) FundingValidIn(ctx context.Context, from, to time.Time) (map[string][]*carehex.Funding, error) {
	fs, err := queryAll(ctx, s, "list funding", scanFunding, s.rebind(fundingSelect+
		` WHERE valid_from < ? AND (valid_to = 0 OR valid_to > ?) ORDER BY valid_from, id`), micros(to), micros(from))
	if err != nil {
		return nil, err
	}
	out := map[string][]*carehex.Funding{}
	for _, f := range fs {
		out[f.ResidentID] = append(out[f.ResidentID], f)
	}
	return out, nil
}
