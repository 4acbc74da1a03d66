package carehex

import "context"

// CellCount is one H3 cell of the console's dispatch map: the supply based
// there and the demand waiting there.
type CellCount struct {
	Cell      Cell
	Providers int // active providers whose base (home) is in the cell
	Requests  int // open requests (pending to in progress) whose resident lives in the cell
}

// DispatchMapStore counts supply and demand per H3 cell of resolution res,
// every provider and every open request, in cell order. It caps nothing:
// the map of a whole city is what a supervisor asks for.
type DispatchMapStore interface {
	DispatchMap(ctx context.Context, res int) ([]CellCount, error)
}
