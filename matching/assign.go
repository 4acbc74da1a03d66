package matching

import (
	"fmt"
	"math"
)

// Forbidden marks a pair that must not be assigned. Assign treats any cost
// at or above it as forbidden and never returns such a pair.
const Forbidden = 1e15

// Assign solves the rectangular assignment problem: given cost[i][j] for
// rows i (e.g. requests) and columns j (e.g. providers), it picks at most
// one column per row and one row per column so that as many rows as
// possible are assigned through allowed pairs and, among those choices, the
// total cost is least. It returns col[i], the column of row i or -1.
//
// It is the Hungarian method with potentials (Kuhn–Munkres in the
// Jonker–Volgenant shortest-augmenting-path form), O(n²·m) for n ≤ m. To
// let rows stay unassigned it adds one private "unassigned" column per row
// costing more than any allowed pair could save, so the maximum number of
// rows is matched first. Costs must be finite and non-negative.
func Assign(cost [][]float64) ([]int, error) {
	n := len(cost)
	if n == 0 {
		return nil, nil
	}
	m := len(cost[0])
	maxAllowed := 0.0
	for i, row := range cost {
		if len(row) != m {
			return nil, fmt.Errorf("matching: row %d has %d columns, row 0 has %d", i, len(row), m)
		}
		for j, c := range row {
			if math.IsNaN(c) || c < 0 {
				return nil, fmt.Errorf("matching: cost[%d][%d] = %v; costs must be non-negative numbers", i, j, c)
			}
			if c < Forbidden {
				maxAllowed = max(maxAllowed, c)
			}
		}
	}
	// Skipping a row costs more than the worst allowed total, so the solver
	// assigns every row it can; a forbidden pair costs more than skipping.
	skip := (maxAllowed + 1) * float64(n+1)
	forbid := skip * 2
	cols := m + n
	at := func(i, j int) float64 { // 0-based row i, column j of the padded matrix
		if j >= m {
			if j-m == i {
				return skip
			}
			return forbid * 2
		}
		if c := cost[i][j]; c < Forbidden {
			return c
		}
		return forbid
	}

	// 1-based arrays as in the textbook form: p[j] is the row matched to
	// column j (0: none), u and v the row and column potentials.
	u := make([]float64, n+1)
	v := make([]float64, cols+1)
	p := make([]int, cols+1)
	way := make([]int, cols+1)
	minv := make([]float64, cols+1)
	used := make([]bool, cols+1)
	for i := 1; i <= n; i++ {
		p[0] = i
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= cols; j++ {
				if used[j] {
					continue
				}
				cur := at(i0-1, j-1) - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= cols; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	out := make([]int, n)
	for i := range out {
		out[i] = -1
	}
	for j := 1; j <= m; j++ {
		if i := p[j]; i > 0 && cost[i-1][j-1] < Forbidden {
			out[i-1] = j - 1
		}
	}
	return out, nil
}
