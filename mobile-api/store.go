package mobileapi

import (
	"context"
	"time"

	"github.com/carehex/carehex"
)

// Store is what the mobile API needs from the system of record. One
// *sqlstore.DB implements it.
type Store interface {
	carehex.AuthStore
	carehex.ResidentStore
	carehex.ProviderStore
	carehex.RequestStore
	carehex.VisitStore
	carehex.VisitEventStore
	carehex.Catalog
	carehex.CardStore
	// RaiseAlert queues an operator alert (carehex.AlertStore).
	RaiseAlert(ctx context.Context, a *carehex.Alert) (created bool, err error)
	// DueOffers lists open offers expiring before now, soonest first
	// (carehex.OfferStore): the reconcile's list of who holds one.
	DueOffers(ctx context.Context, now time.Time, limit int) ([]*carehex.Offer, error)
}
