package carehex

import (
	"context"
	"time"
)

// OpenDataRecord is one service request as the open-data export sees it
// (insight.OpenData): where the resident lives, to the cell, what kind of
// service, when it was asked for and how fast it was served. It carries
// the resident's ID only so the export can count distinct residents per
// cell for k-anonymity; the ID is never written out, nor are names,
// phones, addresses or exact times.
type OpenDataRecord struct {
	ResidentID string
	Cell       Cell // the home's cell at the stored (resident) resolution
	Category   string
	CreateTime time.Time
	// Filled: a carer accepted the request (it was assigned at least once).
	Filled bool
	// AcceptS and ArriveS are seconds from the request to its first
	// assignment and to the carer's arrival; negative when it never came.
	AcceptS, ArriveS float64
}

// OpenDataStore reads the requests created in [from, to) for the export.
type OpenDataStore interface {
	OpenDataRecords(ctx context.Context, from, to time.Time) ([]OpenDataRecord, error)
}
