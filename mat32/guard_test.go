package mat32

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// guarded is a rows×cols view of a buffer with guard rows above and below and guard columns
// on both sides, all holding a canary bit pattern: a kernel that writes one element outside
// its destination changes a canary, where a view flush with the end of its allocation would
// let the write land unseen in whatever the heap put next.
type guarded struct {
	buf  []float32
	view Matrix
}

// canary is a NaN payload no arithmetic produces.
var canary = math.Float32frombits(0x7fc0dead)

func newGuarded(rng *rand.Rand, rows, cols int) guarded {
	const g = 20 // guard width in elements, more than a vector
	stride := cols + 2*g
	buf := make([]float32, (rows+2)*stride+2*g)
	for i := range buf {
		buf[i] = canary
	}
	m := FromSlice(rows+2, stride, buf[g:g+(rows+2)*stride]).Slice(1, rows+1, g, g+cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			m.Set(i, j, float32(rng.NormFloat64()))
		}
	}
	return guarded{buf, m}
}

// offset is the index in buf of the view's element (i, j), which may lie outside the view
// (the view must not be empty).
func (gd guarded) offset(i, j int) int {
	start := int((uintptr(unsafe.Pointer(&gd.view.Data[0])) - uintptr(unsafe.Pointer(&gd.buf[0]))) / 4)
	return start + i*gd.view.Stride + j
}

// newGuardedFlat is newGuarded for a contiguous view (Stride == Cols) with guards before
// and after it.
func newGuardedFlat(rng *rand.Rand, rows, cols int) guarded {
	const g = 20
	buf := make([]float32, rows*cols+2*g)
	for i := range buf {
		buf[i] = canary
	}
	m := FromSlice(rows, cols, buf[g:g+rows*cols])
	for i := range m.Data {
		m.Data[i] = float32(rng.NormFloat64())
	}
	return guarded{buf, m}
}

// intact reports the first guard element that is no longer the canary.
func (gd guarded) intact() error {
	v := gd.view
	start := -1
	if v.Rows > 0 && v.Cols > 0 {
		start = gd.offset(0, 0)
	}
	for i, x := range gd.buf {
		if rel := i - start; start >= 0 && rel >= 0 && rel/v.Stride < v.Rows && rel%v.Stride < v.Cols {
			continue
		}
		if math.Float32bits(x) != math.Float32bits(canary) {
			return fmt.Errorf("guard element %d of %d was overwritten with %v", i, len(gd.buf), x)
		}
	}
	return nil
}

// TestNoWritesOutsideDestination: Gemm and GemmScaled, every kernel, 1–3 threads, every
// transpose, shapes from 1×1 to the training step's, never write outside C.
func TestNoWritesOutsideDestination(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {12, 32, 5}, {13, 33, 17}, {50, 784, 500}, {50, 500, 10},
		{128, 784, 33}, {10, 128, 500}, {500, 50, 500}, {65, 7, 129}, {16, 300, 16}, {47, 91, 200}}
	if testing.Short() {
		shapes = shapes[:6]
	}
	for _, threads := range []int{1, 2, 3} {
		for _, e := range testEngines(t, threads) {
			rng := rand.New(rand.NewPCG(7, uint64(threads)))
			for _, s := range shapes {
				m, n, k := s[0], s[1], s[2]
				for _, tA := range transposes {
					for _, tB := range transposes {
						ar, ac, br, bc := operandShapes(tA, tB, m, n, k)
						a, b := newGuarded(rng, ar, ac), newGuarded(rng, br, bc)
						c := newGuarded(rng, m, n)
						e.Gemm(tA, tB, 0.5, a.view, b.view, 1, c.view)
						rs, cs := make([]float32, m), make([]float32, n)
						for i := range rs {
							rs[i] = 1.5
						}
						for j := range cs {
							cs[j] = 0.5
						}
						e.GemmScaled(tA, tB, 0.5, a.view, b.view, rs, cs, c.view)
						for name, gd := range map[string]guarded{"A": a, "B": b, "C": c} {
							if err := gd.intact(); err != nil {
								t.Fatalf("%s threads=%d %v tA=%v tB=%v m=%d n=%d k=%d: %s: %v", e.Kernel(), threads, s, tA, tB, m, n, k, name, err)
							}
						}
					}
				}
			}
		}
	}
}

// TestGuardDetectsStrayWrite: the guard check itself sees a write one past a row's end and
// one past the view's last element, and accepts writes inside the view.
func TestGuardDetectsStrayWrite(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	g := newGuarded(rng, 3, 5)
	g.view.Set(2, 4, 1)
	if err := g.intact(); err != nil {
		t.Fatalf("a write inside the view: %v", err)
	}
	g.buf[g.offset(0, 5)] = 1 // one past row 0
	if g.intact() == nil {
		t.Error("a write one past the end of a row went unseen")
	}
	h := newGuarded(rng, 3, 5)
	h.buf[h.offset(2, 5)] = 1 // one past the last element
	if h.intact() == nil {
		t.Error("a write one past the view went unseen")
	}
}

// TestAdamNoWritesOutside: Engine.Adam, every kernel, 1–3 threads, contiguous and strided
// parameters of sizes around the vector width and the split threshold, writes only p, m, v.
func TestAdamNoWritesOutside(t *testing.T) {
	c := AdamCoeffs{Beta1: 0.9, OneMinusBeta1: 0.1, Beta2: 0.999, OneMinusBeta2: 0.001, InvC1: 1, InvC2: 1, LR: 1e-3, Eps: 1e-8}
	for _, threads := range []int{1, 2, 3} {
		for _, e := range testEngines(t, threads) {
			rng := rand.New(rand.NewPCG(3, uint64(threads)))
			for _, s := range [][2]int{{1, 1}, {1, 17}, {3, 16}, {7, 33}, {1, 1 << 15}, {130, 257}, {512, 10}} {
				mk := newGuarded
				if s[0]%2 == 1 {
					mk = newGuardedFlat // contiguous: Adam runs over the flat elements
				}
				p, g, m, v := mk(rng, s[0], s[1]), mk(rng, s[0], s[1]), mk(rng, s[0], s[1]), mk(rng, s[0], s[1])
				for i := range v.view.Rows {
					for j := range v.view.Row(i) {
						v.view.Row(i)[j] = float32(math.Abs(float64(v.view.Row(i)[j])))
					}
				}
				e.Adam(p.view, g.view, m.view, v.view, &c)
				for name, gd := range map[string]guarded{"p": p, "g": g, "m": m, "v": v} {
					if err := gd.intact(); err != nil {
						t.Fatalf("%s threads=%d %v: %s: %v", e.Kernel(), threads, s, name, err)
					}
				}
			}
		}
	}
}
