package matching

import (
	"math"
	"math/rand/v2"
	"testing"
)

// brute finds, by trying every injection, the most rows assignable through
// allowed pairs and the least total cost among those.
func brute(cost [][]float64) (int, float64) {
	n := len(cost)
	if n == 0 {
		return 0, 0
	}
	m := len(cost[0])
	bestN, bestC := -1, math.Inf(1)
	usedCol := make([]bool, m)
	var rec func(i, k int, c float64)
	rec = func(i, k int, c float64) {
		if i == n {
			if k > bestN || k == bestN && c < bestC-1e-9 {
				bestN, bestC = k, c
			}
			return
		}
		rec(i+1, k, c) // row i unassigned
		for j := 0; j < m; j++ {
			if !usedCol[j] && cost[i][j] < Forbidden {
				usedCol[j] = true
				rec(i+1, k+1, c+cost[i][j])
				usedCol[j] = false
			}
		}
	}
	rec(0, 0, 0)
	return bestN, bestC
}

func score(t *testing.T, cost [][]float64, col []int) (int, float64) {
	t.Helper()
	seen := map[int]bool{}
	k, c := 0, 0.0
	for i, j := range col {
		if j < 0 {
			continue
		}
		if seen[j] {
			t.Fatalf("column %d assigned twice: %v", j, col)
		}
		if cost[i][j] >= Forbidden {
			t.Fatalf("forbidden pair (%d,%d) assigned", i, j)
		}
		seen[j] = true
		k++
		c += cost[i][j]
	}
	return k, c
}

func TestAssignMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 600 {
		n, m := 1+rng.IntN(6), 1+rng.IntN(6)
		cost := make([][]float64, n)
		for i := range cost {
			cost[i] = make([]float64, m)
			for j := range cost[i] {
				switch {
				case rng.Float64() < 0.25:
					cost[i][j] = Forbidden
				case trial%3 == 0:
					cost[i][j] = float64(rng.IntN(4)) // many ties
				default:
					cost[i][j] = rng.Float64() * 1000
				}
			}
		}
		col, err := Assign(cost)
		if err != nil {
			t.Fatal(err)
		}
		if len(col) != n {
			t.Fatalf("trial %d: %d results for %d rows", trial, len(col), n)
		}
		gotN, gotC := score(t, cost, col)
		wantN, wantC := brute(cost)
		if gotN != wantN || math.Abs(gotC-wantC) > 1e-6 {
			t.Fatalf("trial %d (%dx%d) cost %v:\n got %d rows for %.4f (%v)\nwant %d rows for %.4f", trial, n, m, cost, gotN, gotC, col, wantN, wantC)
		}
	}
}

func TestAssignEdges(t *testing.T) {
	tests := []struct {
		name    string
		cost    [][]float64
		want    []int
		wantErr bool
	}{
		{"empty", nil, nil, false},
		{"one", [][]float64{{3}}, []int{0}, false},
		{"all forbidden", [][]float64{{Forbidden, Forbidden}}, []int{-1}, false},
		{"more rows than columns", [][]float64{{1}, {0}, {5}}, []int{-1, 0, -1}, false},
		{"prefers covering both rows over the cheap pair", [][]float64{{0, 10}, {1, Forbidden}}, []int{1, 0}, false},
		{"ragged", [][]float64{{1, 2}, {1}}, nil, true},
		{"negative", [][]float64{{-1}}, nil, true},
		{"NaN", [][]float64{{math.NaN()}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Assign(tt.cost)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
