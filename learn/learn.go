// Package learn is the contract between a learning rule and everything around it: the
// training loop, checkpoints, metrics, studies, the report and the command line.
//
// A [Learner] is a model together with the rule that trains it. It owns every tensor it
// needs; the loop only hands it batches, asks it for class scores, and asks it to save and
// load itself. A rule registers itself by name ([Register]) with its own typed options and
// their defaults, so that adding a rule means adding its package and one registration:
// nothing in the loop, the checkpoint code, the metrics, the study engine or the report
// changes.
//
// Randomness: a learner draws everything from its seed and the position a step is given
// ([At]), never from a global source, so that a seeded run is reproducible bit for bit and a
// resumed run continues as an uninterrupted one would.
package learn

import (
	"github.com/copi-learn/copi/checkpoint"
	"github.com/copi-learn/copi/mat32"
)

// Batch is a minibatch: the rows of X are examples, Labels their classes.
type Batch struct {
	X      mat32.Matrix
	Labels []uint8
}

// At is where a step falls in the training schedule.
type At struct {
	// Epoch counts passes over the training data from 0; Epochs is the number planned.
	Epoch, Epochs int
	// Step is the step within the epoch, from 0; StepsPerEpoch the number of steps in one.
	Step, StepsPerEpoch int
	// Global is the number of steps taken before this one in the whole run.
	Global int64
}

// Shape is what a learner is built for.
type Shape struct {
	// Inputs is the width of an example, Classes the number of classes (and score columns).
	Inputs, Classes int
	// BatchRows is the largest batch [Learner.Step] will see; EvalRows the largest input
	// [Learner.Predict] will see.
	BatchRows, EvalRows int
}

// Learner is a model together with the rule that trains it.
//
// Step and Predict allocate nothing after the first call (buffers are sized from the
// [Shape] the learner was built for).
type Learner interface {
	// Step trains on one batch. It returns the batch's training loss and the number of its
	// examples classified correctly, both measured before the update on the way (correct
	// is -1 when the rule does not measure it). A non-finite loss means the step found
	// non-finite values; the learner may then have changed nothing.
	Step(b Batch, at At) (loss float64, correct int)
	// Predict writes class scores for every row of x into scores (x.Rows × Classes): the
	// prediction is the argmax of a row. It changes no parameter.
	Predict(x, scores mat32.Matrix)
	// Save adds to ck every tensor an exact resume needs: parameters, optimiser state,
	// fixed random matrices, step counters. The loop adds its own position and metadata.
	Save(ck *checkpoint.Checkpoint) error
	// Load restores what Save wrote, checking every shape.
	Load(ck *checkpoint.Checkpoint) error
	// NonFinite names the first parameter or activity holding a NaN or an infinity, e.g.
	// "layer 3 W", or returns "" when all are finite.
	NonFinite() string
}

// Evaluation is a learner's measurement of a labelled set.
type Evaluation struct {
	// Loss is the mean loss; Acc the fraction classified correctly.
	Loss, Acc float64
	// Scalars are further measurements, e.g. the accuracy of each prediction mode.
	Scalars map[string]float64
}

// Evaluator is implemented by learners that measure a labelled set themselves (their own
// loss, several prediction modes). The loop otherwise takes the accuracy from Predict and
// reports no loss.
type Evaluator interface {
	Evaluate(x mat32.Matrix, y []uint8) Evaluation
}

// Probe is what a learner reports about itself at an evaluation: per-layer series (one
// value per layer, in order) and scalars, by name. Names are snake_case and say their
// unit (e.g. "update_angle_deg").
type Probe struct {
	Layers  map[string][]float64
	Scalars map[string]float64
}

// Prober is implemented by learners that report per-layer series and scalars at every
// evaluation. train holds the first examples of the training set (up to 1000 rows), the
// same at every evaluation, so that series are comparable over time.
type Prober interface {
	Probe(train Batch) Probe
}

// Describer is implemented by learners that can summarise their model in one line for
// logs, e.g. "network [784 500 10] (397000 weights)".
type Describer interface {
	Describe() string
}
