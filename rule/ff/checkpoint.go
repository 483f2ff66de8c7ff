package ff

import (
	"fmt"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
)

// params lists every tensor an exact resume needs, in a fixed order: per hidden layer
// (1-based) its weights, bias, their smoothed gradients and the peer running means; then
// the softmax classifier and its smoothed gradient. The random stream needs no state: it
// is derived from the seed and the step's position.
func (l *Learner) params() learn.Tensors {
	var ps learn.Tensors
	for i := range l.layers {
		ly := &l.layers[i]
		k := i + 1
		ps = append(ps,
			learn.Tensor{Name: fmt.Sprintf("ff.layer%d.w", k), Label: fmt.Sprintf("ff layer %d W", k), M: ly.W},
			learn.Tensor{Name: fmt.Sprintf("ff.layer%d.b", k), Label: fmt.Sprintf("ff layer %d b", k), M: mat32.FromSlice(1, len(ly.b), ly.b), Vector: true},
			learn.Tensor{Name: fmt.Sprintf("ff.layer%d.w_grad", k), Label: fmt.Sprintf("ff layer %d smoothed W gradient", k), M: ly.gW},
			learn.Tensor{Name: fmt.Sprintf("ff.layer%d.b_grad", k), Label: fmt.Sprintf("ff layer %d smoothed b gradient", k), M: mat32.FromSlice(1, len(ly.gb), ly.gb), Vector: true},
			learn.Tensor{Name: fmt.Sprintf("ff.layer%d.peer_mean", k), Label: fmt.Sprintf("ff layer %d peer mean", k), M: mat32.FromSlice(1, len(ly.m), ly.m), Vector: true},
		)
	}
	return append(ps,
		learn.Tensor{Name: "ff.softmax.w", Label: "ff softmax V", M: l.V},
		learn.Tensor{Name: "ff.softmax.w_grad", Label: "ff softmax smoothed V gradient", M: l.gV},
	)
}

// Save adds every tensor of the learner's state to ck under names starting with "ff.".
func (l *Learner) Save(ck *checkpoint.Checkpoint) error { return l.params().Save(ck, "ff") }

// Load restores what Save wrote, checking every tensor before it changes anything, so that
// a checkpoint of another network leaves the learner intact.
func (l *Learner) Load(ck *checkpoint.Checkpoint) error { return l.params().Load(ck, "ff") }

// NonFinite names the first tensor of the learner's state holding a NaN or an infinity,
// e.g. "ff layer 2 W", or returns "" when all are finite.
func (l *Learner) NonFinite() string { return l.params().NonFinite() }
