package mobileapi

import (
	"context"

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
	// RaiseAlert queues an operator alert (carehex.AlertStore).
	RaiseAlert(ctx context.Context, a *carehex.Alert) (created bool, err error)
}
