package learn

import (
	"fmt"
	"slices"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/mat32"
)

// Tensor is one named piece of a learner's state, for the Save, Load and NonFinite of rules
// whose state is a list of float32 tensors (see [Tensors]).
type Tensor struct {
	// Name is the tensor's name in a checkpoint, e.g. "ff.layer1.w"; Label names it in
	// messages, e.g. "ff layer 1 W".
	Name, Label string
	// M holds the values. With Vector set it is a 1×n view saved as a 1-D tensor of n.
	M      mat32.Matrix
	Vector bool
}

func (t Tensor) shape() []int {
	if t.Vector {
		return []int{t.M.Cols}
	}
	return []int{t.M.Rows, t.M.Cols}
}

// Tensors is a learner's whole state as a list of tensors, with the checkpoint code every
// such learner would otherwise write again.
type Tensors []Tensor

// Save adds every tensor to ck; rule prefixes the messages (e.g. "ff").
func (ts Tensors) Save(ck *checkpoint.Checkpoint, rule string) error {
	for _, t := range ts {
		var err error
		if t.Vector {
			err = ck.SetFloat32s(t.Name, t.M.Row(0))
		} else {
			err = ck.SetMatrix(t.Name, t.M)
		}
		if err != nil {
			return fmt.Errorf("%s: save %s: %w", rule, t.Label, err)
		}
	}
	return nil
}

// Load restores what Save wrote. It checks every tensor's presence, type and shape before
// it changes anything, so that a checkpoint of another network leaves the learner intact.
func (ts Tensors) Load(ck *checkpoint.Checkpoint, rule string) error {
	for _, t := range ts {
		info, ok := ck.Info(t.Name)
		if !ok {
			return fmt.Errorf("%s: load %s: checkpoint has no tensor %q", rule, t.Label, t.Name)
		}
		if want := t.shape(); info.DType != checkpoint.F32 || !slices.Equal(info.Shape, want) {
			return fmt.Errorf("%s: load %s: tensor %q is %s %v, want F32 %v", rule, t.Label, t.Name, info.DType, info.Shape, want)
		}
	}
	for _, t := range ts {
		if !t.Vector {
			if err := ck.LoadMatrix(t.Name, t.M); err != nil {
				return fmt.Errorf("%s: load %s: %w", rule, t.Label, err)
			}
			continue
		}
		v, err := ck.Float32s(t.Name)
		if err != nil {
			return fmt.Errorf("%s: load %s: %w", rule, t.Label, err)
		}
		copy(t.M.Row(0), v)
	}
	return nil
}

// NonFinite returns the label of the first tensor holding a NaN or an infinity, or "".
func (ts Tensors) NonFinite() string {
	for _, t := range ts {
		if !mat32.AllFinite(t.M) {
			return t.Label
		}
	}
	return ""
}
