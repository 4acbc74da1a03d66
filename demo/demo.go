// Package demo owns the synthetic people of carehex's demo and load tests:
// elderly residents and care workers around Zibo, Shandong, with realistic
// names, phone and ID numbers, addresses and homes scattered around each
// district's built-up area. Everything is drawn from a seeded math/rand/v2
// generator, so a seed always yields the same city: `make run` loads a few
// thousand people, `carehex demo seed` ninety thousand. None of it describes
// real people; the numbers merely have the right shape.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/carehex/carehex"
)

// Store is where Seed saves people: residents, and providers one at a time
// (all it needs of a carehex.ProviderStore).
type Store interface {
	carehex.ResidentStore
	CreateProvider(ctx context.Context, p *carehex.Provider) error
}

// ResidentImporter is a Store that can save many residents in one call, as
// sqlstore.DB does with multi-row inserts. Seed uses it when the store has
// it: creating 90,000 residents one transaction at a time takes minutes.
type ResidentImporter interface {
	ImportResidents(ctx context.Context, rs []*carehex.Resident) error
}

// ProviderImporter is the same for providers, for a store that offers it.
type ProviderImporter interface {
	ImportProviders(ctx context.Context, ps []*carehex.Provider) error
}

// Residents and providers draw from separate streams of the seed, so that
// asking for more residents does not change who the providers are.
const (
	residentStream = 0x7265736964656e74 // "resident"
	providerStream = 0x70726f7669646572 // "provider"
)

// Batch sizes. Progress is reported about every progressEvery people. An
// importer gets importBatch residents per call: sqlstore's ImportResidents
// commits and re-analyses the tables on every call, which costs more as the
// table grows, so fewer, larger calls are faster (90,000 residents into
// SQLite: 45 s in batches of 1,000, 18 s of 5,000, 15 s of 30,000) while
// 10,000 still reports progress every tenth of a city-sized seed.
const (
	progressEvery = 1000
	importBatch   = 10000
)

// newRand returns the generator for one stream of seed.
func newRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// SeedResidents returns the residents Seed(…, seed, n, …) creates, in
// order, for callers that want the demo's people without a store: tests
// that call a seeded resident by phone, benchmarks, exports.
func SeedResidents(seed uint64, n int) []*carehex.Resident {
	return Residents(newRand(seed, residentStream), n)
}

// SeedProviders returns the providers Seed(…, seed, …, n, skills, …) creates, in order.
func SeedProviders(seed uint64, n int, skills []string) []*carehex.Provider {
	return Providers(newRand(seed, providerStream), n, skills)
}

// Seed saves into s the first `providers` synthetic care workers (holding
// the given skills) and the first `residents` synthetic residents of seed:
// the same people SeedProviders and SeedResidents return. It uses the
// store's bulk import where the store has one. Providers go first because
// the server seeds only a store without providers: a run cut short is then
// never repeated into duplicate phone numbers. progress, if not nil, is
// called with the number of people saved so far about every thousand (every
// import batch when importing) and once at the end. Seed stops at the first
// error or when ctx is done; what was saved before stays saved.
func Seed(ctx context.Context, s Store, seed uint64, residents, providers int, skills []string, progress func(done, total int)) error {
	switch {
	case residents < 0:
		return carehex.Errorf(carehex.EINVALID, "residents", "residents must not be negative, got %d", residents)
	case providers < 0:
		return carehex.Errorf(carehex.EINVALID, "providers", "providers must not be negative, got %d", providers)
	case providers > 0 && len(skills) == 0:
		return carehex.Errorf(carehex.EINVALID, "skills", "providers need skills to draw from; load the catalogue first")
	}
	total := residents + providers
	done := 0
	report := func(n int) {
		prev := done
		done += n
		if progress != nil && (done/progressEvery != prev/progressEvery || done == total) {
			progress(done, total)
		}
	}

	ps := SeedProviders(seed, providers, skills)
	if imp, ok := s.(ProviderImporter); ok {
		for start := 0; start < len(ps); start += importBatch {
			batch := ps[start:min(start+importBatch, len(ps))]
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := imp.ImportProviders(ctx, batch); err != nil {
				return fmt.Errorf("demo: import providers %d…%d: %w", start+1, start+len(batch), err)
			}
			report(len(batch))
		}
	} else {
		for i, p := range ps {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := s.CreateProvider(ctx, p); err != nil {
				return fmt.Errorf("demo: create provider %d of %d: %w", i+1, len(ps), err)
			}
			report(1)
		}
	}

	// Residents are drawn batch by batch, so 90,000 of them never sit in
	// memory at once; the generator carries the used numbers across batches.
	gen := newResidentGen(newRand(seed, residentStream))
	imp, bulk := s.(ResidentImporter)
	batchLen := progressEvery
	if bulk {
		batchLen = importBatch
	}
	for start := 0; start < residents; start += batchLen {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := gen.take(min(batchLen, residents-start))
		if bulk {
			if err := imp.ImportResidents(ctx, batch); err != nil {
				return fmt.Errorf("demo: import residents %d…%d: %w", start+1, start+len(batch), err)
			}
		} else {
			for i, r := range batch {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := s.CreateResident(ctx, r); err != nil {
					return fmt.Errorf("demo: create resident %d of %d: %w", start+i+1, residents, err)
				}
				report(1)
			}
		}
		// A store that keeps funding gets the demo's subsidised share of
		// each batch, now that the batch has IDs.
		if ss, ok := s.(SettlementStore); ok {
			if err := SeedFunding(ctx, ss, batch, SettlementFrom); err != nil {
				return err
			}
		}
		if bulk {
			report(len(batch))
		}
	}
	if total == 0 && progress != nil {
		progress(0, 0)
	}
	return nil
}
