package noprop

import "math"

// Schedule is NoProp-DT's fixed noise schedule over t = 0 … T, where z_0 is pure noise
// and z_T the least noisy state: q(z_t | y) = N(√ᾱ_t u_y, (1 − ᾱ_t) I).
//
// The schedule is the cosine schedule of Nichol & Dhariwal run backwards in NoProp's time
// over T + 1 points, so that z_T keeps a little noise and every SNR is finite:
//
//	ᾱ_t = g((T + 1 − t)/(T + 1)),   g(u) = cos²(π/2 · (u + s)/(1 + s)) / cos²(π/2 · s/(1 + s))
//
// with ᾱ_0 = 0 exactly (cos(π/2) = 0; the float rounding of 1e-33 is dropped). From it,
// with ᾱ_t = Π_{s=t}^{T} α_s:
//
//	α_t = ᾱ_t / ᾱ_{t+1} (t < T),  α_T = ᾱ_T,   SNR(t) = ᾱ_t / (1 − ᾱ_t)
//
// and the inference coefficients of z_t = a_t û_t + b_t z_{t−1} + √c_t ε, t = 1 … T (the
// mean and variance of q(z_t | z_{t−1}, u)):
//
//	a_t = √ᾱ_t (1 − α_{t−1}) / (1 − ᾱ_{t−1})
//	b_t = √α_{t−1} (1 − ᾱ_t) / (1 − ᾱ_{t−1})
//	c_t = (1 − ᾱ_t)(1 − α_{t−1}) / (1 − ᾱ_{t−1})
//
// and the denoising weight of block t, (T η / 2)(SNR(t) − SNR(t−1)). All in float64.
type Schedule struct {
	// T is the number of blocks.
	T int
	// AlphaBar[t], Alpha[t] and SNR[t] for t = 0 … T.
	AlphaBar, Alpha, SNR []float64
	// A[t], B[t], C[t] for t = 1 … T (index 0 unused).
	A, B, C []float64
	// Weight[t] = (T η / 2)(SNR(t) − SNR(t−1)) for t = 1 … T (index 0 unused).
	Weight []float64
}

// NewSchedule returns the schedule for T blocks, loss weight η and cosine offset s.
func NewSchedule(T int, eta, s float64) Schedule {
	sc := Schedule{T: T}
	sc.AlphaBar = make([]float64, T+1)
	sc.Alpha = make([]float64, T+1)
	sc.SNR = make([]float64, T+1)
	sc.A, sc.B, sc.C = make([]float64, T+1), make([]float64, T+1), make([]float64, T+1)
	sc.Weight = make([]float64, T+1)
	f := func(u float64) float64 { c := math.Cos(math.Pi / 2 * (u + s) / (1 + s)); return c * c }
	for t := 1; t <= T; t++ {
		sc.AlphaBar[t] = f(float64(T+1-t)/float64(T+1)) / f(0)
	}
	for t := 0; t <= T; t++ {
		if t < T {
			sc.Alpha[t] = sc.AlphaBar[t] / sc.AlphaBar[t+1]
		} else {
			sc.Alpha[t] = sc.AlphaBar[t]
		}
		sc.SNR[t] = sc.AlphaBar[t] / (1 - sc.AlphaBar[t])
	}
	for t := 1; t <= T; t++ {
		ab, abp, ap := sc.AlphaBar[t], sc.AlphaBar[t-1], sc.Alpha[t-1]
		sc.A[t] = math.Sqrt(ab) * (1 - ap) / (1 - abp)
		sc.B[t] = math.Sqrt(ap) * (1 - ab) / (1 - abp)
		sc.C[t] = (1 - ab) * (1 - ap) / (1 - abp)
		sc.Weight[t] = float64(T) * eta / 2 * (sc.SNR[t] - sc.SNR[t-1])
	}
	return sc
}
