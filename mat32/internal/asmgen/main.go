// Command asmgen generates mat32's amd64 assembly with avo: the AVX-512 and AVX2+FMA GEMM
// micro-kernels and the FMA-throughput loops used to measure the machine's peak.
//
// It lives in a module of its own so that the main module does not depend on avo. Run it
// through `go generate ./mat32` (see mat32/gen.go); the output is committed.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// kernelSig is the Go signature shared by every micro-kernel.
const kernelSig = "func(mr, k int, a *float32, aStep int, b *float32, bStep int, c *float32, ldc int, alpha, beta float32)"

// isa describes one vector instruction set for the generator.
type isa struct {
	name    string // suffix of the generated symbols
	vec     []VecPhysical
	lanes   int // float32 lanes per vector
	mr      int // rows of the micro-tile (broadcast operand)
	nvec    int // vectors per row of the micro-tile (NR = nvec*lanes)
	xor     func(a, b, c Op)
	comment string
}

func main() {
	zs := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
		Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	ys := []VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}

	avx512 := isa{name: "AVX512", vec: zs, lanes: 16, mr: 12, nvec: 2,
		xor: func(a, b, c Op) { VPXORD(a, b, c) }, comment: "AVX-512F, 12×32 tile in 24 zmm accumulators"}
	avx2 := isa{name: "AVX2", vec: ys, lanes: 8, mr: 6, nvec: 2,
		xor: func(a, b, c Op) { VXORPS(a, b, c) }, comment: "AVX2+FMA, 6×16 tile in 12 ymm accumulators"}

	kernel(avx512)
	// A half-width variant for the last columns of C when at most 16 remain.
	avx512half := avx512
	avx512half.name, avx512half.nvec = "AVX512Half", 1
	avx512half.comment = "AVX-512F, 12×16 tile in 12 zmm accumulators (last columns)"
	kernel(avx512half)
	kernel(avx2)
	peak(avx512)
	peak(avx2)
	transpose16()
	transposeRows()
	adam(avx512)
	adam(avx2)
	scaleRow(avx512)
	scaleRow(avx2)
	Generate()
}

// kernel emits gemmKernel<ISA>: C[0:mr, 0:NR] = alpha·Σ_p a(·,p)·b(p,·) + beta·C, where the
// mr values of a for step p are a[p*aStep/4 + i] (i < mr) and the NR values of b are
// b[p*bStep/4 + j]; aStep, bStep are in bytes, ldc in elements. beta == 0 never reads C.
func kernel(s isa) {
	TEXT("gemmKernel"+s.name, NOSPLIT, kernelSig)
	Pragma("noescape")
	Doc(fmt.Sprintf("gemmKernel%s is the %s micro-kernel (mr ≤ %d rows, %d columns).", s.name, s.comment, s.mr, s.nvec*s.lanes))
	mr := Load(Param("mr"), RAX)
	Load(Param("k"), RCX)
	Load(Param("a"), RSI)
	Load(Param("aStep"), R8)
	Load(Param("b"), RDI)
	Load(Param("bStep"), R9)
	Load(Param("c"), RDX)
	ldc := Load(Param("ldc"), R10)
	SHLQ(U8(2), ldc)

	// Strides of 2 and 3 k steps for the unrolled loop: RAX, RBX for a; R12, R13 for b.
	// mr moves to R11 for the dispatch.
	MOVQ(mr, R11)
	LEAQ(Mem{Base: R8, Index: R8, Scale: 1}, RAX)
	LEAQ(Mem{Base: RAX, Index: R8, Scale: 1}, RBX)
	LEAQ(Mem{Base: R9, Index: R9, Scale: 1}, R12)
	LEAQ(Mem{Base: R12, Index: R9, Scale: 1}, R13)
	for r := s.mr; r >= 1; r-- {
		CMPQ(R11, U32(r))
		JEQ(LabelRef(fmt.Sprintf("mr%d", r)))
	}
	VZEROUPPER()
	RET()

	nacc := s.mr * s.nvec
	bregs := s.vec[nacc : nacc+s.nvec]
	tregs := s.vec[nacc+s.nvec:]
	vbytes := 4 * s.lanes
	for r := s.mr; r >= 1; r-- {
		Label(fmt.Sprintf("mr%d", r))
		acc := func(i, v int) VecPhysical { return s.vec[i*s.nvec+v] }
		for i := 0; i < r; i++ {
			for v := 0; v < s.nvec; v++ {
				s.xor(acc(i, v), acc(i, v), acc(i, v))
			}
		}
		// Touch the C tile early so that its lines arrive while the k loop runs.
		MOVQ(RDX, R11)
		for i := 0; i < r; i++ {
			for off := 0; off < s.nvec*vbytes; off += 64 {
				PREFETCHT0(Mem{Base: R11, Disp: off})
			}
			if i+1 < r {
				ADDQ(ldc, R11)
			}
		}
		// step emits one k step reading a at base+idx*1 and b likewise (idx may be nil).
		step := func(aIdx, bIdx Register) {
			for v := 0; v < s.nvec; v++ {
				m := Mem{Base: RDI, Disp: v * vbytes}
				if bIdx != nil {
					m.Index, m.Scale = bIdx, 1
				}
				VMOVUPS(m, bregs[v])
			}
			for i := 0; i < r; i++ {
				t := tregs[i%len(tregs)]
				m := Mem{Base: RSI, Disp: 4 * i}
				if aIdx != nil {
					m.Index, m.Scale = aIdx, 1
				}
				VBROADCASTSS(m, t)
				for v := 0; v < s.nvec; v++ {
					VFMADD231PS(bregs[v], t, acc(i, v))
				}
			}
		}
		// Main loop: 4 k steps per iteration; then up to 3 single steps.
		MOVQ(RCX, R11)
		SHRQ(U8(2), RCX)
		ANDQ(U8(3), R11)
		TESTQ(RCX, RCX)
		JZ(LabelRef(fmt.Sprintf("tail%d", r)))
		Label(fmt.Sprintf("loop%d", r))
		step(nil, nil)
		step(R8, R9)
		step(RAX, R12)
		step(RBX, R13)
		LEAQ(Mem{Base: RSI, Index: R8, Scale: 4}, RSI)
		LEAQ(Mem{Base: RDI, Index: R9, Scale: 4}, RDI)
		DECQ(RCX)
		JNZ(LabelRef(fmt.Sprintf("loop%d", r)))
		Label(fmt.Sprintf("tail%d", r))
		TESTQ(R11, R11)
		JZ(LabelRef(fmt.Sprintf("store%d", r)))
		Label(fmt.Sprintf("one%d", r))
		step(nil, nil)
		ADDQ(R8, RSI)
		ADDQ(R9, RDI)
		DECQ(R11)
		JNZ(LabelRef(fmt.Sprintf("one%d", r)))

		Label(fmt.Sprintf("store%d", r))
		alpha, beta := tregs[0], tregs[1]
		VBROADCASTSS(paramAddr("alpha"), alpha)
		for i := 0; i < r; i++ {
			for v := 0; v < s.nvec; v++ {
				VMULPS(alpha, acc(i, v), acc(i, v))
			}
		}
		MOVL(paramAddr("beta"), R11L)
		ANDL(U32(0x7fffffff), R11L)
		JZ(LabelRef(fmt.Sprintf("nobeta%d", r)))
		VBROADCASTSS(paramAddr("beta"), beta)
		for i := 0; i < r; i++ {
			for v := 0; v < s.nvec; v++ {
				VFMADD231PS(Mem{Base: RDX, Disp: v * vbytes}, beta, acc(i, v))
				VMOVUPS(acc(i, v), Mem{Base: RDX, Disp: v * vbytes})
			}
			if i+1 < r {
				ADDQ(ldc, RDX)
			}
		}
		VZEROUPPER()
		RET()
		Label(fmt.Sprintf("nobeta%d", r))
		for i := 0; i < r; i++ {
			for v := 0; v < s.nvec; v++ {
				VMOVUPS(acc(i, v), Mem{Base: RDX, Disp: v * vbytes})
			}
			if i+1 < r {
				ADDQ(ldc, RDX)
			}
		}
		VZEROUPPER()
		RET()
	}
}

// peak emits fmaPeak<ISA>(n int): n iterations of 12 independent vector FMAs, enough to
// saturate the FMA pipes, for measuring the machine's peak FLOP rate.
func peak(s isa) {
	TEXT("fmaPeak"+s.name, NOSPLIT, "func(n int)")
	Pragma("noescape")
	Doc(fmt.Sprintf("fmaPeak%s runs n iterations of 12 independent %d-lane FMAs.", s.name, s.lanes))
	n := Load(Param("n"), RCX)
	for i := 0; i < 14; i++ {
		s.xor(s.vec[i], s.vec[i], s.vec[i])
	}
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	for i := 0; i < 12; i++ {
		VFMADD231PS(s.vec[12], s.vec[13], s.vec[i])
	}
	DECQ(n)
	JNZ(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// paramAddr is the frame address of a scalar parameter.
func paramAddr(name string) Mem {
	b, err := Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// transpose16 emits transposeAVX512(dst, ldd, src, lds, blocks, k16): for each of k16 column
// blocks q and each of blocks row blocks h, the 16×16 block of src at rows 16h.., columns
// 16q.. is written transposed to dst at rows 16q.., columns 16h... Strides are in elements.
// This is the fast path of packing a transposed operand.
func transpose16() {
	TEXT("transposeAVX512", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds int, blocks, k16 int)")
	Pragma("noescape")
	Doc("transposeAVX512 transposes blocks×k16 blocks of 16×16 values from src into dst.")
	dst := Load(Param("dst"), RDI)
	ldd := Load(Param("ldd"), R8)
	src := Load(Param("src"), RSI)
	lds := Load(Param("lds"), R9)
	blocks := Load(Param("blocks"), R10)
	k16 := Load(Param("k16"), RCX)
	SHLQ(U8(2), ldd)
	SHLQ(U8(2), lds)
	TESTQ(k16, k16)
	JZ(LabelRef("done"))
	TESTQ(blocks, blocks)
	JZ(LabelRef("done"))
	r := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15}
	t := []VecPhysical{Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	// Outer loop over column blocks q (src advances 64 bytes, dst 16 rows).
	Label("qloop")
	MOVQ(src, R11) // source of row block h
	MOVQ(dst, RDX) // destination of row block h (dst columns 16h..)
	MOVQ(blocks, RAX)
	Label("hloop")
	MOVQ(R11, RBX)
	for i := 0; i < 16; i++ {
		VMOVUPS(Mem{Base: RBX}, r[i])
		if i < 15 {
			ADDQ(lds, RBX)
		}
	}
	transposeStages(r, t)
	MOVQ(RDX, RBX)
	for i := 0; i < 16; i++ {
		VMOVUPS(r[i], Mem{Base: RBX})
		if i < 15 {
			ADDQ(ldd, RBX)
		}
	}
	// Next row block: 16 source rows down, 16 destination columns right.
	MOVQ(lds, RBX)
	SHLQ(U8(4), RBX)
	ADDQ(RBX, R11)
	ADDQ(U8(64), RDX)
	DECQ(RAX)
	JNZ(LabelRef("hloop"))
	// Next column block: 16 source columns right, 16 destination rows down.
	ADDQ(U8(64), src)
	MOVQ(ldd, RBX)
	SHLQ(U8(4), RBX)
	ADDQ(RBX, dst)
	DECQ(k16)
	JNZ(LabelRef("qloop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// transposeRows emits transposeRowsAVX512(dst, ldd, src, lds, rows, k16): for each of k16
// column blocks q, the rows×16 block of src at columns 16q.. (1 ≤ rows ≤ 16) is written
// transposed to dst rows 16q.. (rows values each, masked stores). This packs a whole
// row panel of an untransposed A, whatever its height.
func transposeRows() {
	TEXT("transposeRowsAVX512", NOSPLIT, "func(dst *float32, ldd int, src *float32, lds int, rows int, k16 int)")
	Pragma("noescape")
	Doc("transposeRowsAVX512 transposes k16 blocks of rows×16 values from src into 16×rows blocks of dst.")
	dst := Load(Param("dst"), RDI)
	ldd := Load(Param("ldd"), R8)
	src := Load(Param("src"), RSI)
	lds := Load(Param("lds"), R9)
	rows := Load(Param("rows"), RCX)
	k16 := Load(Param("k16"), R10)
	SHLQ(U8(2), ldd)
	SHLQ(U8(2), lds)
	TESTQ(k16, k16)
	JZ(LabelRef("done"))
	// K1 = (1<<rows) - 1: the lanes of a destination row that belong to the panel.
	MOVL(U32(1), EAX)
	SHLL(CL, EAX)
	DECL(EAX)
	KMOVW(EAX, K1)
	r := []VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15}
	t := []VecPhysical{Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}
	Label("qloop")
	for i := 0; i < 16; i++ {
		VPXORD(r[i], r[i], r[i])
	}
	MOVQ(src, RBX)
	for i := 0; i < 16; i++ {
		VMOVUPS(Mem{Base: RBX}, r[i])
		if i < 15 {
			CMPQ(rows, U32(i+1))
			JEQ(LabelRef("loaded"))
			ADDQ(lds, RBX)
		}
	}
	Label("loaded")
	transposeStages(r, t)
	MOVQ(dst, RBX)
	for i := 0; i < 16; i++ {
		VMOVUPS(r[i], K1, Mem{Base: RBX})
		if i < 15 {
			ADDQ(ldd, RBX)
		}
	}
	ADDQ(U8(64), src)
	MOVQ(ldd, RBX)
	SHLQ(U8(4), RBX)
	ADDQ(RBX, dst)
	DECQ(k16)
	JNZ(LabelRef("qloop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// transposeStages transposes the 16×16 block held in rows r (one zmm per row) in place,
// using t as scratch: 64 shuffles in four stages.
func transposeStages(r, t []VecPhysical) {
	for i := 0; i < 8; i++ {
		VUNPCKLPS(r[2*i+1], r[2*i], t[2*i])
		VUNPCKHPS(r[2*i+1], r[2*i], t[2*i+1])
	}
	for i := 0; i < 4; i++ {
		VUNPCKLPD(t[4*i+2], t[4*i], r[4*i])
		VUNPCKHPD(t[4*i+2], t[4*i], r[4*i+1])
		VUNPCKLPD(t[4*i+3], t[4*i+1], r[4*i+2])
		VUNPCKHPD(t[4*i+3], t[4*i+1], r[4*i+3])
	}
	for half := 0; half < 2; half++ {
		o := 8 * half
		for i := 0; i < 4; i++ {
			VSHUFF32X4(U8(0x88), r[o+i+4], r[o+i], t[o+i])
			VSHUFF32X4(U8(0xdd), r[o+i+4], r[o+i], t[o+i+4])
		}
	}
	for i := 0; i < 8; i++ {
		VSHUFF32X4(U8(0x88), t[i+8], t[i], r[i])
		VSHUFF32X4(U8(0xdd), t[i+8], t[i], r[i+8])
	}
}

// adam emits adamStep<ISA>(p, g, m, v, n, c): the Adam update of n elements (a multiple of the
// lane count), c holding the nine float32 coefficients wd, β₁, 1−β₁, β₂, 1−β₂, 1/c₁, 1/c₂,
// η, ε. Per element, in exactly the operations (and order) of the scalar Go code, so that
// the results are bit for bit the same (VSQRTPS is correctly rounded, as is the float64
// square root rounded to float32, and Go does not contract a*b+c into an FMA on amd64):
//
//	g' = g + wd·p;  m = β₁·m + (1−β₁)·g';  v = β₂·v + ((1−β₂)·g')·g'
//	p = p − (η·(m·(1/c₁))) / (sqrt(v·(1/c₂)) + ε)
func adam(s isa) {
	TEXT("adamStep"+s.name, NOSPLIT, "func(p, grad, m, v *float32, n int, c *[9]float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("adamStep%s applies Adam to n elements (a multiple of %d) with %s vectors.", s.name, s.lanes, s.name))
	p := Load(Param("p"), RDI)
	g := Load(Param("grad"), RSI)
	m := Load(Param("m"), RDX)
	v := Load(Param("v"), R8)
	n := Load(Param("n"), RCX)
	c := Load(Param("c"), R9)
	k := s.vec[:9]
	for i := range k {
		VBROADCASTSS(Mem{Base: c, Disp: 4 * i}, k[i])
	}
	wd, b1, ob1, b2, ob2, inv1, inv2, lr, eps := k[0], k[1], k[2], k[3], k[4], k[5], k[6], k[7], k[8]
	vp, vg, vm, vv, t1, t2, t3 := s.vec[9], s.vec[10], s.vec[11], s.vec[12], s.vec[13], s.vec[14], s.vec[15]
	bytes := 4 * s.lanes
	XORQ(RAX, RAX)
	SHLQ(U8(2), n)
	TESTQ(n, n)
	JZ(LabelRef("done"))
	Label("loop")
	VMOVUPS(Mem{Base: p, Index: RAX, Scale: 1}, vp)
	VMOVUPS(Mem{Base: g, Index: RAX, Scale: 1}, vg)
	VMOVUPS(Mem{Base: m, Index: RAX, Scale: 1}, vm)
	VMOVUPS(Mem{Base: v, Index: RAX, Scale: 1}, vv)
	VMULPS(vp, wd, t1)  // wd·p
	VADDPS(t1, vg, vg)  // g' = g + wd·p
	VMULPS(vm, b1, vm)  // β₁·m
	VMULPS(vg, ob1, t1) // (1−β₁)·g'
	VADDPS(t1, vm, vm)  // m
	VMOVUPS(vm, Mem{Base: m, Index: RAX, Scale: 1})
	VMULPS(vv, b2, vv)  // β₂·v
	VMULPS(vg, ob2, t1) // (1−β₂)·g'
	VMULPS(vg, t1, t1)  // ((1−β₂)·g')·g'
	VADDPS(t1, vv, vv)  // v
	VMOVUPS(vv, Mem{Base: v, Index: RAX, Scale: 1})
	VMULPS(vm, inv1, t2) // m/c₁
	VMULPS(t2, lr, t2)   // η·m/c₁
	VMULPS(vv, inv2, t3) // v/c₂
	VSQRTPS(t3, t3)
	VADDPS(eps, t3, t3)
	VDIVPS(t3, t2, t2) // t2 / t3
	VSUBPS(t2, vp, vp) // p − t2
	VMOVUPS(vp, Mem{Base: p, Index: RAX, Scale: 1})
	ADDQ(U32(bytes), RAX)
	CMPQ(RAX, n)
	JLT(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// scaleRow emits scaleRows<ISA>(x, n, s, cs): x[i] *= s for i < n, then, when cs is not nil,
// x[i] *= cs[i] (n a multiple of the lane count, unrolled by 4 vectors): the row and column
// scalings of [Engine.GemmScaled], one rounding per multiplication as in the Go loops.
func scaleRow(s isa) {
	TEXT("scaleRow"+s.name, NOSPLIT, "func(x *float32, n int, s float32, cs *float32)")
	Pragma("noescape")
	Doc(fmt.Sprintf("scaleRow%s multiplies n elements of x (a multiple of %d) by s, then by cs[i] when cs is not nil.", s.name, s.lanes))
	x := Load(Param("x"), RDI)
	n := Load(Param("n"), RCX)
	cs := Load(Param("cs"), RSI)
	sv := s.vec[0]
	VBROADCASTSS(paramAddr("s"), sv)
	bytes := 4 * s.lanes
	SHLQ(U8(2), n)
	XORQ(RAX, RAX)
	TESTQ(n, n)
	JZ(LabelRef("done"))
	TESTQ(cs, cs)
	JNZ(LabelRef("withcs"))
	Label("loop")
	VMULPS(Mem{Base: x, Index: RAX, Scale: 1}, sv, s.vec[1])
	VMOVUPS(s.vec[1], Mem{Base: x, Index: RAX, Scale: 1})
	ADDQ(U32(bytes), RAX)
	CMPQ(RAX, n)
	JLT(LabelRef("loop"))
	JMP(LabelRef("done"))
	Label("withcs")
	VMULPS(Mem{Base: x, Index: RAX, Scale: 1}, sv, s.vec[1])
	VMULPS(Mem{Base: cs, Index: RAX, Scale: 1}, s.vec[1], s.vec[1])
	VMOVUPS(s.vec[1], Mem{Base: x, Index: RAX, Scale: 1})
	ADDQ(U32(bytes), RAX)
	CMPQ(RAX, n)
	JLT(LabelRef("withcs"))
	Label("done")
	VZEROUPPER()
	RET()
}
