package optim

import (
	"fmt"
	"math"
)

// The learning-rate schedule: a step schedule as PyTorch's MultiStepLR, stepped once per
// epoch. With milestones m_1 < m_2 < … and factor γ, epoch t (from 0) learns at
//
//	η_t = η · γ^|{i : m_i ≤ t}|
//
// so the biotorch benchmark's "divided by 10 at epochs 50 and 75" of a 100-epoch run is
// milestones [50, 75] with γ = 0.1: epochs 0–49 at η, 50–74 at η/10, 75–99 at η/100. The rate
// depends only on the epoch, so a run resumed from a checkpoint learns at the same rate as an
// uninterrupted one.

// LRSetter is implemented by the optimisers whose learning rate a schedule changes between
// steps.
type LRSetter interface {
	SetLR(lr float64)
}

// SetLR sets SGD's learning rate.
func (s *SGD) SetLR(lr float64) { s.LR = float32(lr) }

// SetLR sets Adam's learning rate.
func (a *Adam) SetLR(lr float64) { a.LR = lr }

// Scheduled reports whether the configuration has a learning-rate schedule.
func (c Config) Scheduled() bool { return len(c.Milestones) > 0 }

// LRAt returns the learning rate of epoch t (from 0) under the schedule: LR times Gamma (0.1
// when unset) for every milestone at or below t.
func (c Config) LRAt(epoch int) float64 {
	g := c.Gamma
	if g == 0 {
		g = 0.1
	}
	lr := c.LR
	for _, m := range c.Milestones {
		if epoch >= m {
			lr *= g
		}
	}
	return lr
}

// checkSchedule refuses milestones that are not positive and increasing, and a factor that
// is not a finite positive number.
func (c Config) checkSchedule() error {
	for i, m := range c.Milestones {
		if m <= 0 || (i > 0 && m <= c.Milestones[i-1]) {
			return fmt.Errorf("optimizer: milestones %v must be positive epochs in increasing order", c.Milestones)
		}
	}
	if math.IsNaN(c.Gamma) || math.IsInf(c.Gamma, 0) || c.Gamma < 0 || c.Gamma > 1e6 {
		return fmt.Errorf("optimizer: gamma %v must be a finite number in (0, 1e6] (0 means 0.1)", c.Gamma)
	}
	return nil
}
