package learn

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/copi-learn/copi/mat32"
)

// Rule is a learning rule as the registry knows it.
type Rule struct {
	// Name is the rule's registry name, e.g. "copi-bp" or "ff".
	Name string
	// About is a one-line description for listings.
	About string
	// Options returns a new value holding the rule's options at their defaults: a pointer to
	// a struct whose fields carry json and yaml tags. Rules of one family share one options
	// type, so that a configuration can switch between them and keep its values.
	Options func() any
	// Adapt, if set, adjusts options taken over from another rule with the same options
	// type when a configuration switches to this rule (e.g. turns decorrelation on).
	Adapt func(opts any)
	// Resumable lists the option keys (dotted, as --set names them) that may change when a
	// run resumes from a checkpoint, e.g. learning rates: the tensors saved still fit. Any
	// other option is fixed for the run's life.
	Resumable []string
	// Memory, if set, estimates the bytes a learner of these options and shape allocates
	// (parameters, optimiser state, buffers), so that an impossible network is refused
	// before any allocation instead of crashing the process.
	Memory func(opts any, s Shape) int64
	// New builds a learner for the given shape from options of the type Options returns,
	// drawing its initial state from seed.
	New func(e *mat32.Engine, opts any, s Shape, seed uint64) (Learner, error)
}

// Validator is implemented by options that can check themselves: every number finite and
// in range, every name known. Validate returns one error naming the option and the
// accepted values.
type Validator interface {
	Validate() error
}

var (
	regMu sync.RWMutex
	rules = map[string]Rule{}
)

// Register adds a rule to the registry. It panics if the name is taken or the rule is
// incomplete, as database/sql's Register does: both are programming errors.
func Register(r Rule) {
	regMu.Lock()
	defer regMu.Unlock()
	if r.Name == "" || r.Options == nil || r.New == nil {
		panic(fmt.Sprintf("learn: Register of rule %q without a name, options or constructor", r.Name))
	}
	if _, dup := rules[r.Name]; dup {
		panic(fmt.Sprintf("learn: Register called twice for rule %q", r.Name))
	}
	rules[r.Name] = r
}

// Lookup returns the rule registered under name.
func Lookup(name string) (Rule, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	r, ok := rules[name]
	if !ok {
		return Rule{}, fmt.Errorf("unknown rule %q (want one of %s)", name, strings.Join(namesLocked(), ", "))
	}
	return r, nil
}

// Names lists the registered rules, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	return namesLocked()
}

func namesLocked() []string {
	n := make([]string, 0, len(rules))
	for k := range rules {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// SameFamily reports whether options a and b are of one type, so that a configuration
// switching between their rules may keep its values.
func SameFamily(a, b any) bool {
	return a != nil && b != nil && reflect.TypeOf(a) == reflect.TypeOf(b)
}

// Constructor adapts a rule's constructor, which takes the rule's own options type, to
// [Rule.New]: it refuses options of another type with an error naming both.
func Constructor[O any, L Learner](rule string, f func(e *mat32.Engine, opts O, s Shape, seed uint64) (L, error)) func(*mat32.Engine, any, Shape, uint64) (Learner, error) {
	return func(e *mat32.Engine, opts any, s Shape, seed uint64) (Learner, error) {
		o, ok := opts.(*O)
		if !ok {
			return nil, fmt.Errorf("%s: options of type %T, want %T", rule, opts, o)
		}
		l, err := f(e, *o, s, seed)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
}
