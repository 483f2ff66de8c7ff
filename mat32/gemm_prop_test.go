package mat32

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmPlans forces every valid packing plan (the default plan reads Aᵀ and B in place
// for most shapes) and checks each against the reference.
func TestGemmPlans(t *testing.T) {
	shapes := [][3]int{{1, 1, 1}, {13, 33, 17}, {37, 70, 300}, {60, 1100, 9}}
	for _, e := range testEngines(t, 2) {
		rng := rand.New(rand.NewPCG(3, 3))
		for _, pk := range [][2]bool{{true, true}, {true, false}, {false, true}, {false, false}} {
			e.tweak = func(j *gemmJob) {
				j.packA = j.packA || pk[0]
				j.packB = j.packB || pk[1]
			}
			for _, s := range shapes {
				for _, tA := range transposes {
					for _, tB := range transposes {
						checkGemm(t, e, rng, tA, tB, s[0], s[1], s[2], 0.75, 0.5, 2)
					}
				}
			}
			e.tweak = nil
		}
	}
}

// TestGemmBlocking uses shapes larger than every kernel's kc, mc and nc blocks.
func TestGemmBlocking(t *testing.T) {
	if testing.Short() {
		t.Skip("large shapes")
	}
	for _, e := range testEngines(t, 2) {
		rng := rand.New(rand.NewPCG(4, 4))
		checkGemm(t, e, rng, NoTrans, NoTrans, 490, 70, 520, 1, 1, 0) // m > mc, k > kc
		checkGemm(t, e, rng, Trans, Trans, 3, 4200, 300, -1, 0, 1)    // n > nc
		checkGemm(t, e, rng, NoTrans, Trans, 20, 20, 1100, 2, 0.5, 1)
	}
}

// TestGemmTransposeIdentity checks (AB)ᵀ = BᵀAᵀ: Gemm(T, T) of the stored operands gives the
// transpose of Gemm(N, N).
func TestGemmTransposeIdentity(t *testing.T) {
	for _, e := range testEngines(t, 2) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, s := range [][3]int{{7, 9, 11}, {50, 784, 33}, {129, 65, 97}} {
			m, k, n := s[0], s[1], s[2]
			a, b := randView(rng, m, k, 0), randView(rng, k, n, 0)
			ab := New(m, n)
			e.MatMul(ab, NoTrans, a, NoTrans, b)
			btat := New(n, m)
			e.MatMul(btat, Trans, b, Trans, a)
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					x, y := ab.At(i, j), btat.At(j, i)
					if math.Abs(float64(x-y)) > 1e-4*math.Sqrt(float64(k))*(1+math.Abs(float64(x))) {
						t.Fatalf("%s %v: (AB)[%d,%d] = %v, (BᵀAᵀ)[%d,%d] = %v", e.Kernel(), s, i, j, x, j, i, y)
					}
				}
			}
		}
	}
}

// TestGemmLinearity checks A(xB₁ + yB₂) = x·AB₁ + y·AB₂ using alpha and beta to accumulate.
func TestGemmLinearity(t *testing.T) {
	for _, e := range testEngines(t, 2) {
		rng := rand.New(rand.NewPCG(6, 6))
		m, k, n := 45, 77, 61
		a, b1, b2 := randView(rng, m, k, 0), randView(rng, k, n, 0), randView(rng, k, n, 0)
		const x, y = 1.5, -0.25
		mix := New(k, n)
		for i := range mix.Data {
			mix.Data[i] = x*b1.Data[i] + y*b2.Data[i]
		}
		lhs := New(m, n)
		e.MatMul(lhs, NoTrans, a, NoTrans, mix)
		rhs := New(m, n)
		e.Gemm(NoTrans, NoTrans, x, a, b1, 0, rhs)
		e.Gemm(NoTrans, NoTrans, y, a, b2, 1, rhs)
		for i := range lhs.Data {
			if d := math.Abs(float64(lhs.Data[i] - rhs.Data[i])); d > 1e-4*math.Sqrt(float64(k))*(1+math.Abs(float64(lhs.Data[i]))) {
				t.Fatalf("%s: element %d: %v vs %v", e.Kernel(), i, lhs.Data[i], rhs.Data[i])
			}
		}
	}
}

// TestGemmDeterminism checks that repeated products are bit-for-bit identical for a given
// thread count, and (since k is never split and the plan depends only on the shapes) also
// across thread counts.
func TestGemmDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for _, name := range kernelNames() {
		for _, s := range []struct {
			tA, tB  Transpose
			m, k, n int
		}{{NoTrans, NoTrans, 50, 784, 300}, {NoTrans, Trans, 50, 300, 200}, {Trans, NoTrans, 300, 50, 310}, {NoTrans, NoTrans, 301, 520, 77}} {
			ar, ac := s.m, s.k
			if s.tA {
				ar, ac = ac, ar
			}
			br, bc := s.k, s.n
			if s.tB {
				br, bc = bc, br
			}
			a, b := randView(rng, ar, ac, 0), randView(rng, br, bc, 0)
			var first []float32
			for _, threads := range []int{1, 2, 3, 2} {
				e, err := NewEngine(Options{Threads: threads, Kernel: name})
				if err != nil {
					t.Fatal(err)
				}
				for rep := 0; rep < 3; rep++ {
					c := New(s.m, s.n)
					Fill(c, 0.5)
					e.Gemm(s.tA, s.tB, 0.7, a, b, 0.3, c)
					if first == nil {
						first = c.Data
						continue
					}
					for i, v := range c.Data {
						if math.Float32bits(v) != math.Float32bits(first[i]) {
							t.Fatalf("%s %+v threads=%d rep=%d: element %d = %v, first run %v", name, s, threads, rep, i, v, first[i])
						}
					}
				}
				e.Close()
			}
		}
	}
}

// TestGemmLeavesPadding checks that a strided C view's neighbours are never written.
func TestGemmLeavesPadding(t *testing.T) {
	for _, e := range testEngines(t, 2) {
		rng := rand.New(rand.NewPCG(9, 9))
		for _, s := range [][3]int{{13, 37, 5}, {50, 100, 64}, {3, 33, 1}} {
			m, n, k := s[0], s[1], s[2]
			big := New(m+2, n+5)
			Fill(big, 42)
			c := big.Slice(1, m+1, 2, n+2)
			a, b := randView(rng, m, k, 0), randView(rng, k, n, 0)
			e.Gemm(NoTrans, NoTrans, 1, a, b, 0, c)
			for i := 0; i < big.Rows; i++ {
				for j := 0; j < big.Cols; j++ {
					inside := i >= 1 && i <= m && j >= 2 && j < n+2
					if !inside && big.At(i, j) != 42 {
						t.Fatalf("%s %v: wrote outside C at (%d,%d)", e.Kernel(), s, i, j)
					}
				}
			}
		}
	}
}

// TestGemmNoAllocs checks that repeated products allocate nothing in steady state, both on
// one goroutine and through the worker pool, for every plan.
func TestGemmNoAllocs(t *testing.T) {
	for _, e := range testEngines(t, 2) {
		rng := rand.New(rand.NewPCG(10, 10))
		for _, s := range []struct {
			tA, tB  Transpose
			m, k, n int
		}{{NoTrans, NoTrans, 5, 6, 7}, {NoTrans, NoTrans, 50, 300, 200}, {NoTrans, Trans, 50, 300, 200}, {Trans, NoTrans, 200, 50, 300}} {
			a, b := randView(rng, s.m, s.k, 0), randView(rng, s.k, s.n, 0)
			if s.tA {
				a = randView(rng, s.k, s.m, 0)
			}
			if s.tB {
				b = randView(rng, s.n, s.k, 0)
			}
			c := New(s.m, s.n)
			allocs := testing.AllocsPerRun(20, func() { e.Gemm(s.tA, s.tB, 1, a, b, 1, c) })
			if allocs != 0 {
				t.Errorf("%s %+v: %v allocations per Gemm", e.Kernel(), s, allocs)
			}
		}
	}
}

func TestSplitWork(t *testing.T) {
	tasks := make([]task, 4)
	n := splitWork(tasks, 50, 784, 2, 12, 32)
	if n != 2 || tasks[0] != (task{0, 50, 0, 384}) || tasks[1] != (task{0, 50, 384, 784}) {
		t.Errorf("50x784 on 2: %v", tasks[:n])
	}
	n = splitWork(tasks, 784, 50, 3, 12, 32)
	if n != 3 || tasks[0].i0 != 0 || tasks[2].i1 != 784 || tasks[0].i1%12 != 0 || tasks[1].i1%12 != 0 {
		t.Errorf("784x50 on 3: %v", tasks[:n])
	}
	if n = splitWork(tasks, 5, 7, 4, 12, 32); n != 1 || tasks[0] != (task{0, 5, 0, 7}) {
		t.Errorf("5x7 on 4: %v", tasks[:n])
	}
}

func TestNewEngineOptions(t *testing.T) {
	if _, err := NewEngine(Options{Kernel: "nope"}); err == nil {
		t.Error("unknown kernel accepted")
	}
	if _, err := NewEngine(Options{Threads: -1}); err == nil {
		t.Error("negative threads accepted")
	}
	t.Setenv(ThreadsEnv, "3")
	e, err := NewEngine(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if e.Threads() != 3 {
		t.Errorf("threads = %d with %s=3", e.Threads(), ThreadsEnv)
	}
	if want := AvailableKernels()[0]; e.Kernel() != want && e.Kernel() != kernelNames()[0] {
		t.Errorf("default kernel %q, want %q", e.Kernel(), want)
	}
	e.Close()
	e.Close() // idempotent; the engine still works, single-threaded
	c := New(2, 2)
	e.MatMul(c, NoTrans, FromSlice(2, 1, []float32{1, 2}), NoTrans, FromSlice(1, 2, []float32{3, 4}))
	if c.At(1, 1) != 8 {
		t.Errorf("after Close: %v", c.Data)
	}
}

// FuzzGemm checks random shapes, transposes, strides, scalars, kernels and thread counts
// against the float64 reference.
func FuzzGemm(f *testing.F) {
	f.Add(uint8(1), uint8(1), uint8(1), uint8(0), uint8(0), uint8(0), uint8(1))
	f.Add(uint8(13), uint8(33), uint8(17), uint8(3), uint8(1), uint8(2), uint8(2))
	f.Add(uint8(50), uint8(0), uint8(7), uint8(1), uint8(2), uint8(1), uint8(3))
	f.Add(uint8(97), uint8(65), uint8(129), uint8(2), uint8(0), uint8(3), uint8(2))
	names := kernelNames()
	engines := map[[2]int]*Engine{}
	f.Cleanup(func() {
		for _, e := range engines {
			e.Close()
		}
	})
	f.Fuzz(func(t *testing.T, m, k, n, trans, kern, scal, threads uint8) {
		key := [2]int{int(kern) % len(names), 1 + int(threads)%3}
		e := engines[key]
		if e == nil {
			var err error
			if e, err = NewEngine(Options{Threads: key[1], Kernel: names[key[0]]}); err != nil {
				t.Fatal(err)
			}
			engines[key] = e
		}
		ab := [][2]float32{{1, 0}, {-1, 1}, {0.5, -2}, {0, 0.5}}[scal%4]
		rng := rand.New(rand.NewPCG(uint64(m)<<16|uint64(k)<<8|uint64(n), uint64(trans)))
		checkGemm(t, e, rng, trans&1 != 0, trans&2 != 0, int(m)%160, int(n)%160, int(k)%160, ab[0], ab[1], int(scal/4)%3)
	})
}
