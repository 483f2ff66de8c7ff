package learn_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/learn"
	"github.com/copi-learn/copi/mat32"
	"github.com/copi-learn/copi/train"
)

// CentroidOptions are the options of a toy rule: a nearest-class-mean classifier whose
// means follow the data with a running average.
type CentroidOptions struct {
	// Rate is the weight of a new batch in the running class means.
	Rate float64 `json:"rate" yaml:"rate"`
}

// Validate refuses a rate outside (0, 1].
func (o *CentroidOptions) Validate() error {
	if !(o.Rate > 0 && o.Rate <= 1) {
		return fmt.Errorf("option rate = %v must be in (0, 1]", o.Rate)
	}
	return nil
}

// centroid is the learner: the class means are its whole model.
type centroid struct {
	rate  float32
	means mat32.Matrix // classes × inputs
	sum   mat32.Matrix
	count []float32
}

func (c *centroid) Step(b learn.Batch, _ learn.At) (float64, int) {
	scores := mat32.New(b.X.Rows, c.means.Rows) // a real rule keeps its buffers
	c.Predict(b.X, scores)
	am := make([]int, b.X.Rows)
	mat32.ArgmaxRows(am, scores)
	correct := 0
	for i, k := range am {
		if k == int(b.Labels[i]) {
			correct++
		}
	}
	mat32.Zero(c.sum)
	clear(c.count)
	for i, y := range b.Labels {
		mat32.Axpy(1, b.X.Slice(i, i+1, 0, b.X.Cols), c.sum.Slice(int(y), int(y)+1, 0, b.X.Cols))
		c.count[y]++
	}
	for k := range c.count {
		if c.count[k] > 0 {
			row := c.means.Row(k)
			for j, s := range c.sum.Row(k) {
				row[j] += c.rate * (s/c.count[k] - row[j])
			}
		}
	}
	return float64(b.X.Rows-correct) / float64(b.X.Rows), correct
}

// Predict scores each class by the negative squared distance to its mean.
func (c *centroid) Predict(x, scores mat32.Matrix) {
	for i := 0; i < x.Rows; i++ {
		for k := 0; k < scores.Cols; k++ {
			var d float32
			for j, v := range x.Row(i) {
				e := v - c.means.At(k, j)
				d += e * e
			}
			scores.Set(i, k, -d)
		}
	}
}

func (c *centroid) Save(ck *checkpoint.Checkpoint) error {
	return ck.SetMatrix("centroid.means", c.means)
}
func (c *centroid) Load(ck *checkpoint.Checkpoint) error {
	return ck.LoadMatrix("centroid.means", c.means)
}
func (c *centroid) NonFinite() string {
	if !mat32.AllFinite(c.means) {
		return "centroid means"
	}
	return ""
}

// Example shows all it takes to add a rule: its options, a learner, one registration. The
// loop, checkpoints, metrics, studies, the report and the command line then know it by
// name (a package registers its rules in its init function; package rule imports it).
func Example() {
	learn.Register(learn.Rule{
		Name:      "centroid",
		About:     "nearest class mean, means as running averages (an example)",
		Options:   func() any { return &CentroidOptions{Rate: 0.5} },
		Resumable: []string{"rate"},
		New: func(_ *mat32.Engine, opts any, s learn.Shape, _ uint64) (learn.Learner, error) {
			o := opts.(*CentroidOptions)
			return &centroid{rate: float32(o.Rate), means: mat32.New(s.Classes, s.Inputs),
				sum: mat32.New(s.Classes, s.Inputs), count: make([]float32, s.Classes)}, nil
		},
	})

	// Two classes of 2-D points around (0, 0) and (1, 1).
	rng := rand.New(rand.NewPCG(1, 2))
	data := &train.Data{Name: "two blobs", Classes: 2}
	sample := func(n int) (mat32.Matrix, []uint8) {
		x, y := mat32.New(n, 2), make([]uint8, n)
		for i := range y {
			y[i] = uint8(i % 2)
			x.Set(i, 0, float32(y[i])+0.2*float32(rng.NormFloat64()))
			x.Set(i, 1, float32(y[i])+0.2*float32(rng.NormFloat64()))
		}
		return x, y
	}
	data.TrainX, data.TrainY = sample(200)
	data.TestX, data.TestY = sample(100)

	var cfg train.Config
	if err := cfg.SetRule("centroid"); err != nil {
		panic(err)
	}
	cfg.BatchSize, cfg.Epochs, cfg.EvalEvery, cfg.Seed = 20, 2, 1, 1
	if err := cfg.Set("rate=0.25"); err != nil {
		panic(err)
	}
	eng, _ := mat32.NewEngine(mat32.Options{Threads: 1})
	defer eng.Close()
	t, err := train.NewTrainer(eng, cfg, data)
	if err != nil {
		panic(err)
	}
	if err := t.Run(context.Background(), train.Options{}); err != nil {
		panic(err)
	}
	last := t.Records()[len(t.Records())-1]
	fmt.Printf("%s after %d epochs: test accuracy %.2f\n", cfg.Rule, last.Epoch+1, last.TestAcc)
	// Output: centroid after 2 epochs: test accuracy 1.00
}
