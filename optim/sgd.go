package optim

import (
	"fmt"

	"github.com/copi-learn/copi/mat32"
)

// SGD is stochastic gradient descent with optional heavy-ball momentum:
//
//	v ← μ·v + g + λ·p
//	p ← p − η·v          (with μ = 0: p ← p − η·(g + λ·p))
type SGD struct {
	LR, Momentum, WeightDecay float32

	velocity []mat32.Matrix
	t        int64
}

// Init allocates the velocity buffers when momentum is used.
func (s *SGD) Init(params []mat32.Matrix) {
	s.velocity = nil
	if s.Momentum == 0 {
		return
	}
	for _, p := range params {
		s.velocity = append(s.velocity, mat32.New(p.Rows, p.Cols))
	}
}

// Begin advances the step counter.
func (s *SGD) Begin() { s.t++ }

// Apply updates p from g; g is left unchanged.
func (s *SGD) Apply(i int, p, g mat32.Matrix) {
	if s.Momentum == 0 {
		// p ← p − η(g + λp) = (1 − ηλ)p − ηg
		if s.WeightDecay != 0 {
			mat32.Scale(1-s.LR*s.WeightDecay, p)
		}
		mat32.Axpy(-s.LR, g, p)
		return
	}
	v := s.velocity[i]
	mat32.Scale(s.Momentum, v)
	mat32.Axpy(1, g, v)
	if s.WeightDecay != 0 {
		mat32.Axpy(s.WeightDecay, p, v)
	}
	mat32.Axpy(-s.LR, v, p)
}

// State returns the velocities as "velocity.<i>".
func (s *SGD) State() map[string]mat32.Matrix {
	st := map[string]mat32.Matrix{}
	for i, v := range s.velocity {
		st[fmt.Sprintf("velocity.%d", i)] = v
	}
	return st
}

// Steps returns the number of steps begun.
func (s *SGD) Steps() int64 { return s.t }

// SetSteps restores the step counter.
func (s *SGD) SetSteps(t int64) { s.t = t }
