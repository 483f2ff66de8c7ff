package mat32

import (
	"fmt"
	"math"
	"unsafe"
)

// AdamCoeffs are the per-step scalars of one Adam update ([Engine.Adam]). The field order is
// the layout the assembly kernels read.
type AdamCoeffs struct {
	// WeightDecay λ adds λ·p to the gradient.
	WeightDecay float32
	// Beta1, OneMinusBeta1, Beta2, OneMinusBeta2 are β₁, 1−β₁, β₂, 1−β₂ (the complements
	// are given separately so that they can be rounded once from float64).
	Beta1, OneMinusBeta1, Beta2, OneMinusBeta2 float32
	// InvC1, InvC2 are the reciprocals of the bias corrections c₁, c₂.
	InvC1, InvC2 float32
	// LR is η; Eps is ε.
	LR, Eps float32
}

// adamFunc is the vectorised Adam kernel contract: n (a multiple of the kernel's lanes)
// elements of p, g, m, v updated with the coefficients c (an *AdamCoeffs).
type adamFunc func(p, grad, m, v *float32, n int, c *[9]float32)

// adamMinPiece is the number of elements below which the Adam update is not split over
// workers: a few microseconds of work.
const adamMinPiece = 1 << 14

// adamJob is one Adam update in progress; it lives inside the Engine so that ParallelFor
// over it allocates nothing.
type adamJob struct {
	p, g, m, v Matrix
	c          AdamCoeffs
	fn         adamFunc
	lanes      int
	flat       bool // all four contiguous: Range indexes elements, else rows
}

// Adam applies one Adam step to the parameter p with gradient g and moments m, v (all of
// p's shape), element by element:
//
//	g' = g + λ·p
//	m ← β₁·m + (1−β₁)·g'        v ← β₂·v + (1−β₂)·g'²
//	p ← p − η·(m/c₁) / (√(v/c₂) + ε)
//
// split over the engine's workers and vectorised with the engine's instruction set. The
// result is the same, bit for bit, with every kernel and thread count: each element follows
// the same float32 operations in the same order (see [AdamScalar]).
func (e *Engine) Adam(p, g, m, v Matrix, c *AdamCoeffs) {
	mustSameShape("Adam", p, g)
	mustSameShape("Adam", p, m)
	mustSameShape("Adam", p, v)
	e.enter()
	defer e.leave()
	j := &e.adam
	*j = adamJob{p: p, g: g, m: m, v: v, c: *c}
	k := e.kern
	if k == nil && len(archKernels) > 0 { // OpenBLAS engine: use the CPU's own kernel
		k = archKernels[0]
	}
	if k != nil && k.adam != nil {
		j.fn, j.lanes = k.adam, k.lanes
	}
	pd, ok1 := flat(p)
	gd, ok2 := flat(g)
	md, ok3 := flat(m)
	vd, ok4 := flat(v)
	if ok1 && ok2 && ok3 && ok4 {
		j.flat = true
		j.p.Data, j.g.Data, j.m.Data, j.v.Data = pd, gd, md, vd
		e.parallelFor(len(pd), 64, adamMinPiece, j)
	} else {
		e.parallelFor(p.Rows, 1, max(1, adamMinPiece/max(p.Cols, 1)), j)
	}
	e.adam = adamJob{} // drop references to the caller's matrices
}

// Range updates elements (or rows) [lo, hi).
func (j *adamJob) Range(lo, hi int) {
	if j.flat {
		j.run(j.p.Data[lo:hi], j.g.Data[lo:hi], j.m.Data[lo:hi], j.v.Data[lo:hi])
		return
	}
	for r := lo; r < hi; r++ {
		j.run(j.p.Row(r), j.g.Row(r), j.m.Row(r), j.v.Row(r))
	}
}

func (j *adamJob) run(p, g, m, v []float32) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	done := 0
	if j.fn != nil {
		done = n - n%j.lanes
		if done > 0 {
			j.fn(&p[0], &g[0], &m[0], &v[0], done, (*[9]float32)(unsafe.Pointer(&j.c)))
		}
	}
	AdamScalar(p[done:], g[done:], m[done:], v[done:], &j.c)
}

// AdamScalar is the portable Go form of the update of [Engine.Adam] on slices of equal
// length, one element at a time; the vector kernels reproduce it exactly.
func AdamScalar(p, g, m, v []float32, c *AdamCoeffs) {
	if len(g) != len(p) || len(m) != len(p) || len(v) != len(p) {
		panic(fmt.Sprintf("mat32: AdamScalar lengths %d, %d, %d, %d", len(p), len(g), len(m), len(v)))
	}
	wd, b1, ob1, b2, ob2 := c.WeightDecay, c.Beta1, c.OneMinusBeta1, c.Beta2, c.OneMinusBeta2
	inv1, inv2, lr, eps := c.InvC1, c.InvC2, c.LR, c.Eps
	for i, pi := range p {
		gi := g[i] + wd*pi
		mi := b1*m[i] + ob1*gi
		vi := b2*v[i] + ob2*gi*gi
		m[i], v[i] = mi, vi
		p[i] = pi - lr*(mi*inv1)/(float32(math.Sqrt(float64(vi*inv2)))+eps)
	}
}
