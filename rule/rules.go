// Package rule brings every learning rule of copi into the registry of package learn: import
// it (for its side effect) wherever rules are looked up by name. Each family lives in a
// package of its own below this one and registers its rules in its init function:
//
//   - credit: the COPI family and the feedback-alignment family on an MLP (bp, decor-bp,
//     copi-bp, copi-fa, copi-dfa, fa, dfa, usf, brsf, frsf);
//   - ff: forward-forward (Hinton 2022) with hard negatives.
//   - ccl: counter-current learning (Kao & Hariharan 2024).
//   - csdp: contrastive signal-dependent plasticity, a spiking circuit (Ororbia 2024).
//   - dfc: deep feedback control (Meulemans et al. 2021): dfc, dfc-ss, dfc-ssa.
//   - gevb: global error-vector broadcasting and backprop in vectorized networks (gevb, bp-vec).
//   - noprop: NoProp-DT (Li, Teh & Pascanu 2025) and backprop on its stack (noprop, bp-noprop).
//
// Adding a rule means adding its package and one import line here.
package rule

import (
	_ "github.com/copi-learn/copi/rule/ccl"    // ccl
	_ "github.com/copi-learn/copi/rule/credit" // bp, decor-bp, copi-*, fa, dfa, usf, brsf, frsf
	_ "github.com/copi-learn/copi/rule/csdp"   // csdp
	_ "github.com/copi-learn/copi/rule/dfc"    // dfc, dfc-ss, dfc-ssa
	_ "github.com/copi-learn/copi/rule/ff"     // ff
	_ "github.com/copi-learn/copi/rule/gevb"   // gevb, bp-vec
	_ "github.com/copi-learn/copi/rule/noprop" // noprop, bp-noprop
)
