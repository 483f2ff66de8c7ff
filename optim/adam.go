package optim

import (
	"fmt"
	"math"

	"github.com/copi-learn/copi/mat32"
)

// Adam is the Adam optimiser (Kingma & Ba 2015):
//
//	m ← β₁m + (1−β₁)g        v ← β₂v + (1−β₂)g²
//	m̂ = m/(1−β₁ᵗ)            v̂ = v/(1−β₂ᵗ)
//	p ← p − η·m̂/(√v̂ + ε)
//
// With FixedBiasCorrection the moments are divided by the constants (1−β₁) and (1−β₂)
// instead, as the COPI reference code does; this shrinks the effective step size over time
// by about √(1−β₂)/(1−β₁)·… relative to standard Adam once the moments have warmed up.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	WeightDecay           float32
	FixedBiasCorrection   bool

	m, v []mat32.Matrix
	t    int64
	eng  *mat32.Engine
}

// Init allocates the first and second moment buffers.
func (a *Adam) Init(params []mat32.Matrix) {
	a.m, a.v = nil, nil
	for _, p := range params {
		a.m = append(a.m, mat32.New(p.Rows, p.Cols))
		a.v = append(a.v, mat32.New(p.Rows, p.Cols))
	}
}

// Begin advances the step counter t.
func (a *Adam) Begin() { a.t++ }

// SetEngine lets Apply spread its work over e's workers and use e's vector instructions;
// the results are the same bit for bit (see [mat32.Engine.Adam]). nil goes back to the
// single-threaded scalar loop.
func (a *Adam) SetEngine(e *mat32.Engine) { a.eng = e }

// Apply updates p from g.
func (a *Adam) Apply(i int, p, g mat32.Matrix) {
	c1, c2 := 1-math.Pow(a.Beta1, float64(a.t)), 1-math.Pow(a.Beta2, float64(a.t))
	if a.FixedBiasCorrection {
		c1, c2 = 1-a.Beta1, 1-a.Beta2
	}
	co := mat32.AdamCoeffs{
		WeightDecay: a.WeightDecay,
		Beta1:       float32(a.Beta1), Beta2: float32(a.Beta2),
		// 1−β rounded once from float64: 1 − float32(0.999) would be 1.3e-5 off in relative terms.
		OneMinusBeta1: float32(1 - a.Beta1), OneMinusBeta2: float32(1 - a.Beta2),
		InvC1: float32(1 / c1), InvC2: float32(1 / c2),
		LR: float32(a.LR), Eps: float32(a.Eps),
	}
	m, v := a.m[i], a.v[i]
	if a.eng != nil {
		a.eng.Adam(p, g, m, v, &co)
		return
	}
	for r := 0; r < p.Rows; r++ {
		mat32.AdamScalar(p.Row(r), g.Row(r), m.Row(r), v.Row(r), &co)
	}
}

// State returns the moments as "m.<i>" and "v.<i>".
func (a *Adam) State() map[string]mat32.Matrix {
	st := map[string]mat32.Matrix{}
	for i := range a.m {
		st[fmt.Sprintf("m.%d", i)] = a.m[i]
		st[fmt.Sprintf("v.%d", i)] = a.v[i]
	}
	return st
}

// Steps returns t.
func (a *Adam) Steps() int64 { return a.t }

// SetSteps restores t.
func (a *Adam) SetSteps(t int64) { a.t = t }
