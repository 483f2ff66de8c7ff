package credit

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/data"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/optim"
)

// convOpts is a small convolutional setting: odd sizes, a strided padded convolution, both
// poolings and a flattening dense layer.
func convOpts() Options {
	o := DefaultOptions()
	o.Network = "c4k3s2p1-m2-c5k3p1-a2s1-f12-f10"
	o.InputShape = []int{3, 11, 9}
	o.Activation, o.Bias, o.Loss, o.LossMultiplier, o.OutputDerivative = "relu", true, "cross-entropy", 1, false
	o.Optimizer = optim.Config{Name: "sgd", LR: 0.05, Momentum: 0.9, WeightDecay: 1e-3}
	o.Decorrelation.Variant = "none"
	o.DecorOnlyEpochs = 0
	return o
}

func convBatch(rows, width int, seed uint64) learn.Batch {
	rng := rand.New(rand.NewPCG(seed, 9))
	x := mat32.New(rows, width)
	for i := range x.Data {
		x.Data[i] = float32(rng.Float64())
	}
	y := make([]uint8, rows)
	for i := range y {
		y[i] = uint8(rng.IntN(10))
	}
	return learn.Batch{X: x, Labels: y}
}

func newConv(t *testing.T, e *mat32.Engine, rule string, o Options) *ConvModel {
	t.Helper()
	m, err := NewConvModel(e, rule, o, learn.Shape{Inputs: 3 * 11 * 9, Classes: 10, BatchRows: 8, EvalRows: 20}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestConvFeedbackShapes checks that FA's and sign symmetry's feedback for every layer that
// carries credit has its weights' shape, is a matrix of its own (never the forward weights'
// storage, never equal to them), and is what the credit uses: the hidden layers' updates
// leave the gradient, the output layer's is the gradient. For bp every update is the
// gradient.
func TestConvFeedbackShapes(t *testing.T) {
	e, _ := mat32.NewEngine(mat32.Options{Threads: 1})
	defer e.Close()
	b := convBatch(8, 3*11*9, 1)
	for _, rule := range []string{"bp", "fa", "usf", "brsf", "frsf", "dfa"} {
		m := newConv(t, e, rule, convOpts())
		L := len(m.Net.Layers)
		for l := 1; l < L && rule != "bp" && rule != "dfa"; l++ {
			fb, w := m.Feedback[l], m.Net.Layer(l).W
			if fb.Rows != w.Rows || fb.Cols != w.Cols {
				t.Fatalf("%s layer %d: feedback %dx%d, weights %dx%d", rule, l+1, fb.Rows, fb.Cols, w.Rows, w.Cols)
			}
			if &fb.Data[0] == &w.Data[0] {
				t.Fatalf("%s layer %d: the feedback is the forward weights' storage", rule, l+1)
			}
			if mat32.Dot(fb, w) == mat32.Dot(w, w) && mat32.Dot(fb, fb) == mat32.Dot(w, w) {
				t.Fatalf("%s layer %d: the feedback equals the forward weights", rule, l+1)
			}
		}
		if rule == "dfa" {
			for l := 0; l < L-1; l++ {
				if fb := m.Feedback[l]; fb.Rows != m.Net.Layer(l).Out.Size() || fb.Cols != 10 {
					t.Fatalf("dfa layer %d: feedback %dx%d", l+1, fb.Rows, fb.Cols)
				}
			}
		}
		p := m.Probe(b)
		up := p.Layers["update_angle_deg"]
		if len(up) != L {
			t.Fatalf("%s: %d update angles for %d layers", rule, len(up), L)
		}
		if up[L-1] > 1e-3 {
			t.Errorf("%s: the output layer's update is %v° off its gradient", rule, up[L-1])
		}
		for l := 0; l < L-1; l++ {
			if rule == "bp" && up[l] > 0.1 {
				t.Errorf("bp layer %d: update %v° off the gradient", l+1, up[l])
			}
			if rule != "bp" && up[l] < 1 {
				t.Errorf("%s layer %d: update only %v° off the gradient: is the feedback the forward weights?", rule, l+1, up[l])
			}
		}
		if rule == "fa" || strings.HasSuffix(rule, "sf") {
			if got := len(p.Layers["feedback_angle_deg"]); got != L-1 {
				t.Errorf("%s: %d feedback angles, want %d", rule, got, L-1)
			}
		}
		if rule == "fa" {
			// With B set to a copy of W, FA's credit is backprop's: every update is the
			// gradient (the FA path differs from bp's only in the matrix it uses).
			for l := 1; l < L; l++ {
				mat32.Copy(m.Feedback[l], m.Net.Layer(l).W)
			}
			for l, a := range m.Probe(b).Layers["update_angle_deg"] {
				if a > 0.1 {
					t.Errorf("fa with B = W: layer %d update %v° off the gradient", l+1, a)
				}
			}
		}
		if rule == "usf" {
			// uSF's B has W's signs: the angle is well below 90°.
			if a := p.Layers["feedback_angle_deg"][0]; a > 60 {
				t.Errorf("usf: feedback %v° from W", a)
			}
		}
	}
}

// TestConvResumeExact checks that training 5 steps equals training 3, saving, loading into a
// freshly built model and training 2 more, bit for bit (weights, momentum, brSF's draws, the
// augmentation's draws), and that the step allocates nothing.
func TestConvResumeExact(t *testing.T) {
	e, _ := mat32.NewEngine(mat32.Options{Threads: 1})
	defer e.Close()
	o := convOpts()
	o.AugmentCrop, o.AugmentFlip = 2, true
	batches := []learn.Batch{convBatch(8, 297, 1), convBatch(8, 297, 2), convBatch(5, 297, 3), convBatch(8, 297, 4), convBatch(8, 297, 5)}
	for _, rule := range []string{"fa", "brsf", "dfa", "bp"} {
		a := newConv(t, e, rule, o)
		for i, b := range batches {
			a.Step(b, learn.At{Epoch: i / 2, Global: int64(i)})
		}
		b := newConv(t, e, rule, o)
		for i, bt := range batches[:3] {
			b.Step(bt, learn.At{Epoch: i / 2, Global: int64(i)})
		}
		ck := checkpoint.New()
		if err := b.Save(ck); err != nil {
			t.Fatal(err)
		}
		c := newConv(t, e, rule, o)
		if err := c.Load(ck); err != nil {
			t.Fatal(err)
		}
		for i, bt := range batches[3:] {
			c.Step(bt, learn.At{Epoch: (i + 3) / 2, Global: int64(i + 3)})
		}
		for l := range a.Net.Layers {
			wa, wc := a.Net.Layer(l).W, c.Net.Layer(l).W
			for j := range wa.Data {
				if wa.Data[j] != wc.Data[j] {
					t.Fatalf("%s: layer %d W[%d] differs after resume: %v vs %v", rule, l+1, j, wa.Data[j], wc.Data[j])
				}
			}
		}
		if allocs := testing.AllocsPerRun(3, func() { a.Step(batches[0], learn.At{Global: 9}) }); allocs != 0 {
			t.Errorf("%s: a step allocates %v times", rule, allocs)
		}
	}
}

// TestConvSchedule checks that a step learns at the epoch's scheduled rate, for the network
// and for the MLP.
func TestConvSchedule(t *testing.T) {
	e, _ := mat32.NewEngine(mat32.Options{Threads: 1})
	defer e.Close()
	o := convOpts()
	o.Optimizer.Milestones = []int{2, 4}
	m := newConv(t, e, "bp", o)
	for _, c := range []struct {
		epoch int
		lr    float32
	}{{0, 0.05}, {2, 0.005}, {5, 0.0005}} {
		m.Step(convBatch(8, 297, 1), learn.At{Epoch: c.epoch})
		if got := m.opt.(*optim.SGD).LR; got != c.lr {
			t.Errorf("network, epoch %d: lr %v, want %v", c.epoch, got, c.lr)
		}
	}
	mo := DefaultOptions()
	mo.adapt("bp")
	mo.Sizes = []int{297, 6, 10}
	mo.Optimizer = optim.Config{Name: "sgd", LR: 0.1, Momentum: 0.5, Milestones: []int{1}}
	mm, err := NewModel(e, "bp", mo, learn.Shape{Inputs: 297, Classes: 10, BatchRows: 8, EvalRows: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	mm.Step(convBatch(8, 297, 1), learn.At{Epoch: 3})
	if got := mm.Learner.Optimizer().(*optim.SGD).LR; got != float32(0.1*0.1) {
		t.Errorf("MLP, epoch 3: lr %v, want 0.01", got)
	}
}

// TestConvOptionErrors checks the one-line errors for what a network cannot run.
func TestConvOptionErrors(t *testing.T) {
	for _, c := range []struct {
		rule string
		set  func(*Options)
		want string
	}{
		{"copi-bp", func(o *Options) {}, "MLP only"},
		{"bp", func(o *Options) { o.Network = "c3k3-m2" }, "last stage must be dense"},
		{"bp", func(o *Options) { o.Network = "c3k40-f10" }, "does not fit"},
		{"bp", func(o *Options) { o.InputShape = []int{3, 11} }, "input_shape"},
		{"bp", func(o *Options) { o.AugmentCrop = -1 }, "augment_crop"},
		{"bp", func(o *Options) { o.Network = ""; o.AugmentFlip = true }, "need a convolutional network"},
		{"bp", func(o *Options) { o.Optimizer.Milestones = []int{5, 3} }, "milestones"},
	} {
		o := convOpts()
		c.set(&o)
		o.adapt(c.rule)
		_, err := NewConvModel(nil, c.rule, o, learn.Shape{Inputs: 297, Classes: 10, BatchRows: 4, EvalRows: 4}, 1)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %+v: error %v, want one line with %q", c.rule, o.Network, err, c.want)
		}
	}
}

// TestConvCIFARRoundTrip writes CIFAR-10 binary batches whose pixels encode their channel,
// row and column, reads them with the CIFAR reader, and checks that a 3-channel network sees
// channel c, row y, column x where the record put it (channels first), and trains on them.
func TestConvCIFARRoundTrip(t *testing.T) {
	dir := t.TempDir()
	rec := func(label byte, k int) []byte {
		b := []byte{label}
		for c := 0; c < 3; c++ {
			for y := 0; y < 32; y++ {
				for x := 0; x < 32; x++ {
					b = append(b, byte((c*80+y*2+x+k)%256))
				}
			}
		}
		return b
	}
	write := func(name string, n int) {
		var buf []byte
		for i := 0; i < n; i++ {
			buf = append(buf, rec(byte(i%10), i)...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 5; i++ {
		write("data_batch_"+string(rune('0'+i))+".bin", 4)
	}
	write("test_batch.bin", 4)
	ds, err := data.LoadCIFARDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Channels != 3 || ds.Height != 32 || ds.Width != 32 || ds.Train.X.Cols != 3072 {
		t.Fatalf("CIFAR shape %d×%d×%d, %d columns", ds.Channels, ds.Height, ds.Width, ds.Train.X.Cols)
	}
	e, _ := mat32.NewEngine(mat32.Options{Threads: 1})
	defer e.Close()
	o := convOpts()
	o.InputShape = nil // inferred from 3072 columns: 3×32×32
	o.Network = "c2k3-m2-f10"
	m, err := NewConvModel(e, "bp", o, learn.Shape{Inputs: 3072, Classes: 10, BatchRows: 4, EvalRows: 4}, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := ds.Train.X.Slice(0, 4, 0, 3072)
	m.Net.Forward(e, x, m.tr)
	in := m.tr.Input // channel-major: row c, column n·1024 + y·32 + x
	scale := x.At(1, 0) / float32((0*80+0+0+1)%256)
	for _, p := range [][4]int{{0, 0, 0, 0}, {1, 2, 5, 7}, {3, 1, 31, 0}, {2, 0, 4, 30}} {
		n, c, y, xx := p[0], p[1], p[2], p[3]
		want := float32((c*80+y*2+xx+n)%256) * scale
		if got := in.At(c, n*1024+y*32+xx); got != want {
			t.Errorf("example %d channel %d (%d,%d): network sees %v, record has %v", n, c, y, xx, got, want)
		}
	}
	loss, _ := m.Step(learn.Batch{X: x, Labels: ds.Train.Labels[:4]}, learn.At{})
	if loss <= 0 {
		t.Errorf("loss %v", loss)
	}
}
