package mat32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refGemm computes alpha·op(A)·op(B) + beta·C in float64 (beta == 0 ignores C).
func refGemm(tA, tB Transpose, alpha float32, a, b Matrix, beta float32, c Matrix) []float64 {
	m, n := c.Rows, c.Cols
	k := a.Cols
	if tA {
		k = a.Rows
	}
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var x, y float32
				if tA {
					x = a.At(p, i)
				} else {
					x = a.At(i, p)
				}
				if tB {
					y = b.At(j, p)
				} else {
					y = b.At(p, j)
				}
				s += float64(x) * float64(y)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c.At(i, j))
			}
			out[i*n+j] = v
		}
	}
	return out
}

// randView returns a rows×cols view with random values, strided (Stride > Cols) when pad > 0,
// carved out of a larger matrix whose padding holds NaN so that any stray read shows.
func randView(rng *rand.Rand, rows, cols, pad int) Matrix {
	big := New(rows+1, cols+pad)
	for i := range big.Data {
		big.Data[i] = float32(math.NaN())
	}
	v := big.Slice(1, rows+1, 0, cols)
	if pad > 0 && cols > 0 {
		v = big.Slice(1, rows+1, pad/2, pad/2+cols)
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			v.Set(i, j, float32(rng.NormFloat64()))
		}
	}
	return v
}

// testEngines returns an engine for every kernel this CPU has, with the given threads.
func testEngines(t testing.TB, threads int) []*Engine {
	var es []*Engine
	for _, name := range kernelNames() {
		e, err := NewEngine(Options{Threads: threads, Kernel: name})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(e.Close)
		es = append(es, e)
	}
	return es
}

// operandShapes returns the stored shapes of A and B for C (m×n) = op(A)·op(B) with inner
// dimension k.
func operandShapes(tA, tB Transpose, m, n, k int) (ar, ac, br, bc int) {
	ar, ac = m, k
	if tA {
		ar, ac = k, m
	}
	br, bc = k, n
	if tB {
		br, bc = n, k
	}
	return ar, ac, br, bc
}

// checkGemm runs one product on e and compares it with the float64 reference.
func checkGemm(t testing.TB, e *Engine, rng *rand.Rand, tA, tB Transpose, m, n, k int, alpha, beta float32, pad int) {
	t.Helper()
	ar, ac, br, bc := operandShapes(tA, tB, m, n, k)
	a := randView(rng, ar, ac, pad)
	b := randView(rng, br, bc, pad)
	c := randView(rng, m, n, pad)
	if beta == 0 {
		Fill(c, float32(math.NaN()))
	}
	want := refGemm(tA, tB, alpha, a, b, beta, c)
	e.Gemm(tA, tB, alpha, a, b, beta, c)
	tol := 1e-5 * math.Sqrt(float64(k+1)) * 8
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			got := float64(c.At(i, j))
			w := want[i*n+j]
			if !(math.Abs(got-w) <= tol*(1+math.Abs(w))) {
				t.Fatalf("%s threads=%d tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v pad=%d: C[%d,%d] = %v, want %v",
					e.Kernel(), e.Threads(), tA, tB, m, n, k, alpha, beta, pad, i, j, got, w)
			}
		}
	}
}

var transposes = []Transpose{NoTrans, Trans}

func TestGemmShapes(t *testing.T) {
	shapes := [][3]int{
		{1, 1, 1}, {1, 1, 7}, {2, 3, 4}, {5, 7, 3}, {13, 33, 17}, {12, 32, 5}, {6, 16, 9},
		{17, 1, 29}, {1, 45, 3}, {31, 65, 0}, {0, 5, 3}, {4, 0, 2}, {50, 40, 30},
		{25, 70, 260}, {100, 3, 2}, {3, 100, 2},
	}
	for _, threads := range []int{1, 2, 3} {
		for _, e := range testEngines(t, threads) {
			rng := rand.New(rand.NewPCG(1, uint64(threads)))
			for _, s := range shapes {
				for _, tA := range transposes {
					for _, tB := range transposes {
						for _, ab := range [][2]float32{{1, 0}, {-0.5, 1}, {2, 0.25}} {
							checkGemm(t, e, rng, tA, tB, s[0], s[1], s[2], ab[0], ab[1], 0)
							checkGemm(t, e, rng, tA, tB, s[0], s[1], s[2], ab[0], ab[1], 3)
						}
					}
				}
			}
		}
	}
}

func TestGemmLargeOdd(t *testing.T) {
	for _, e := range testEngines(t, 2) {
		rng := rand.New(rand.NewPCG(2, 2))
		for _, tA := range transposes {
			for _, tB := range transposes {
				t.Run(fmt.Sprintf("%s/%v%v", e.Kernel(), tA, tB), func(t *testing.T) {
					checkGemm(t, e, rng, tA, tB, 257, 131, 513, 1.5, 0.5, 1)
				})
			}
		}
	}
}
