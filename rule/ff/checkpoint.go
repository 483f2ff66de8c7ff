package ff

import (
	"fmt"
	"slices"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/mat32"
)

// param is one tensor of the learner's state: a matrix or a vector.
type param struct {
	// name is the tensor's name in a checkpoint, e.g. "ff.layer1.w".
	name string
	// label names it in messages, e.g. "ff layer 1 W".
	label string
	m     mat32.Matrix
	v     []float32
}

// shape returns the tensor's shape.
func (p param) shape() []int {
	if p.v != nil {
		return []int{len(p.v)}
	}
	return []int{p.m.Rows, p.m.Cols}
}

// params lists every tensor an exact resume needs, in a fixed order: per hidden layer
// (1-based) its weights, bias, their smoothed gradients and the peer running means; then
// the softmax classifier and its smoothed gradient. The random stream needs no state: it
// is derived from the seed and the step's position.
func (l *Learner) params() []param {
	var ps []param
	for i := range l.layers {
		ly := &l.layers[i]
		k := i + 1
		ps = append(ps,
			param{name: fmt.Sprintf("ff.layer%d.w", k), label: fmt.Sprintf("ff layer %d W", k), m: ly.W},
			param{name: fmt.Sprintf("ff.layer%d.b", k), label: fmt.Sprintf("ff layer %d b", k), v: ly.b},
			param{name: fmt.Sprintf("ff.layer%d.w_grad", k), label: fmt.Sprintf("ff layer %d smoothed W gradient", k), m: ly.gW},
			param{name: fmt.Sprintf("ff.layer%d.b_grad", k), label: fmt.Sprintf("ff layer %d smoothed b gradient", k), v: ly.gb},
			param{name: fmt.Sprintf("ff.layer%d.peer_mean", k), label: fmt.Sprintf("ff layer %d peer mean", k), v: ly.m},
		)
	}
	return append(ps,
		param{name: "ff.softmax.w", label: "ff softmax V", m: l.V},
		param{name: "ff.softmax.w_grad", label: "ff softmax smoothed V gradient", m: l.gV},
	)
}

// Save adds every tensor of the learner's state to ck under names starting with "ff.".
func (l *Learner) Save(ck *checkpoint.Checkpoint) error {
	for _, p := range l.params() {
		var err error
		if p.v != nil {
			err = ck.SetFloat32s(p.name, p.v)
		} else {
			err = ck.SetMatrix(p.name, p.m)
		}
		if err != nil {
			return fmt.Errorf("ff: save %s: %w", p.label, err)
		}
	}
	return nil
}

// Load restores what Save wrote. It checks every tensor's presence, type and shape before
// it changes anything, so that a checkpoint of another network leaves the learner intact.
func (l *Learner) Load(ck *checkpoint.Checkpoint) error {
	ps := l.params()
	for _, p := range ps {
		info, ok := ck.Info(p.name)
		if !ok {
			return fmt.Errorf("ff: load %s: checkpoint has no tensor %q", p.label, p.name)
		}
		if info.DType != checkpoint.F32 || !slices.Equal(info.Shape, p.shape()) {
			return fmt.Errorf("ff: load %s: tensor %q is %s %v, want F32 %v", p.label, p.name, info.DType, info.Shape, p.shape())
		}
	}
	for _, p := range ps {
		if p.v == nil {
			if err := ck.LoadMatrix(p.name, p.m); err != nil {
				return fmt.Errorf("ff: load %s: %w", p.label, err)
			}
			continue
		}
		v, err := ck.Float32s(p.name)
		if err != nil {
			return fmt.Errorf("ff: load %s: %w", p.label, err)
		}
		copy(p.v, v)
	}
	return nil
}

// NonFinite names the first tensor of the learner's state holding a NaN or an infinity,
// e.g. "ff layer 2 W", or returns "" when all are finite.
func (l *Learner) NonFinite() string {
	for _, p := range l.params() {
		m := p.m
		if p.v != nil {
			m = mat32.FromSlice(1, len(p.v), p.v)
		}
		if !mat32.AllFinite(m) {
			return p.label
		}
	}
	return ""
}
