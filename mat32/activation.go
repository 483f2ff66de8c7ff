package mat32

import (
	"fmt"
	"math"
)

// Func names an element-wise nonlinearity f together with its derivative f'.
type Func int

// The element-wise nonlinearities. Param is the slope for LeakyReLU and the α of ELU.
const (
	Identity  Func = iota // f(a) = a
	ReLU                  // f(a) = max(a, 0)
	LeakyReLU             // f(a) = a for a > 0, slope·a otherwise
	Tanh                  // f(a) = tanh(a)
	ELU                   // f(a) = a for a > 0, α(eᵃ − 1) otherwise
	Sigmoid               // f(a) = 1 / (1 + e⁻ᵃ)
)

var funcNames = [...]string{"identity", "relu", "leaky-relu", "tanh", "elu", "sigmoid"}

// String returns the nonlinearity's name as used on the command line.
func (f Func) String() string {
	if f >= 0 && int(f) < len(funcNames) {
		return funcNames[f]
	}
	return fmt.Sprintf("Func(%d)", int(f))
}

// ParseFunc returns the nonlinearity with the given name (see [Func.String]).
func ParseFunc(name string) (Func, error) {
	for i, n := range funcNames {
		if n == name {
			return Func(i), nil
		}
	}
	return 0, fmt.Errorf("unknown activation %q (want one of %v)", name, funcNames[:])
}

// Apply computes dst = f(src) element-wise; dst may alias src.
func Apply(dst, src Matrix, f Func, param float32) {
	mustSameShape("Apply", dst, src)
	for i := 0; i < dst.Rows; i++ {
		d, s := dst.Row(i), src.Row(i)
		switch f {
		case Identity:
			copy(d, s)
		case ReLU:
			d = d[:len(s)]
			for j, v := range s {
				d[j] = max(v, 0)
			}
		case LeakyReLU:
			d = d[:len(s)]
			for j, v := range s {
				d[j] = v * pick(v > 0, 1, param)
			}
		case Tanh:
			for j, v := range s {
				d[j] = float32(math.Tanh(float64(v)))
			}
		case ELU:
			for j, v := range s {
				if v > 0 {
					d[j] = v
				} else {
					d[j] = param * float32(math.Expm1(float64(v)))
				}
			}
		case Sigmoid:
			for j, v := range s {
				d[j] = float32(1 / (1 + math.Exp(-float64(v))))
			}
		default:
			panic(fmt.Sprintf("mat32: Apply: unknown %v", f))
		}
	}
}

// Deriv computes dst = f'(a) element-wise from the pre-activation a; dst may alias a.
// At the kink (a == 0) ReLU's derivative is 0 and LeakyReLU's is 1, as in PyTorch and in the
// COPI reference code.
func Deriv(dst, a Matrix, f Func, param float32) {
	mustSameShape("Deriv", dst, a)
	for i := 0; i < dst.Rows; i++ {
		d, s := dst.Row(i), a.Row(i)
		switch f {
		case Identity:
			for j := range d {
				d[j] = 1
			}
		case ReLU:
			d = d[:len(s)]
			for j, v := range s {
				d[j] = pick(v > 0, 1, 0)
			}
		case LeakyReLU:
			d = d[:len(s)]
			for j, v := range s {
				d[j] = pick(v >= 0, 1, param)
			}
		case Tanh:
			for j, v := range s {
				t := float32(math.Tanh(float64(v)))
				d[j] = 1 - t*t
			}
		case ELU:
			for j, v := range s {
				if v > 0 {
					d[j] = 1
				} else {
					d[j] = param * float32(math.Exp(float64(v)))
				}
			}
		case Sigmoid:
			for j, v := range s {
				sg := float32(1 / (1 + math.Exp(-float64(v))))
				d[j] = sg * (1 - sg)
			}
		default:
			panic(fmt.Sprintf("mat32: Deriv: unknown %v", f))
		}
	}
}

// MulDeriv computes dst = g ⊙ f'(a) element-wise: the backward pass through f.
// dst may alias g.
func MulDeriv(dst, g, a Matrix, f Func, param float32) {
	mustSameShape("MulDeriv", dst, g)
	mustSameShape("MulDeriv", dst, a)
	for i := 0; i < dst.Rows; i++ {
		d, gr, s := dst.Row(i), g.Row(i), a.Row(i)
		switch f {
		case Identity:
			copy(d, gr)
		case ReLU:
			d, gr = d[:len(s)], gr[:len(s)]
			for j, v := range s {
				d[j] = gr[j] * pick(v > 0, 1, 0)
			}
		case LeakyReLU:
			d, gr = d[:len(s)], gr[:len(s)]
			for j, v := range s {
				d[j] = gr[j] * pick(v >= 0, 1, param)
			}
		default:
			for j, v := range s {
				var fd float32
				switch f {
				case Tanh:
					t := float32(math.Tanh(float64(v)))
					fd = 1 - t*t
				case ELU:
					fd = 1
					if v <= 0 {
						fd = param * float32(math.Exp(float64(v)))
					}
				case Sigmoid:
					sg := float32(1 / (1 + math.Exp(-float64(v))))
					fd = sg * (1 - sg)
				default:
					panic(fmt.Sprintf("mat32: MulDeriv: unknown %v", f))
				}
				d[j] = gr[j] * fd
			}
		}
	}
}

// pick returns a when cond holds and b otherwise, without a branch: the compiler turns the
// bool into a mask (SETcc), where an if on the float's sign would be mispredicted for about
// half of the elements of a layer whose pre-activations have random signs. Multiplying by
// the picked 1 or 0 gives the same results as the branches did: v·1 = v, and ReLU's v·0 is
// ±0, which nothing downstream tells from +0.
func pick(cond bool, a, b float32) float32 {
	var m uint32
	if cond {
		m = 1
	}
	ab, bb := math.Float32bits(a), math.Float32bits(b)
	return math.Float32frombits(bb ^ ((ab ^ bb) & -m))
}
