package mat32

// Packing copies a block of op(A) or op(B) into the layout the micro-kernel streams through:
// op(A) as MR-row panels (for each k step, MR consecutive row values) and op(B) as NR-column
// panels (for each k step, NR consecutive column values). Transposes are absorbed here: a
// panel is either a strided copy of short contiguous runs or a transposition.

// packA packs rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into dst as ⌈mc/mr⌉ panels
// of kc×mr values each (mr is the panel height, at most the kernel's MR). The last panel's unused rows are left as they were: the kernel is
// told how many rows are valid and never reads them.
func packA(dst []float32, a Matrix, tA Transpose, i0, mc, p0, kc, mr int, tr transposer, trMR panelTransposer) {
	for q := 0; q*mr < mc; q++ {
		rows := min(mr, mc-q*mr)
		panel := dst[q*kc*mr : (q+1)*kc*mr]
		i := i0 + q*mr
		if tA {
			// op(A)(i, p) = A[p, i]: row p0+p of A holds the panel's values for step p.
			copyRuns(panel, mr, a.Data, p0*a.Stride+i, a.Stride, rows, kc)
		} else {
			// op(A)(i, p) = A[i, p]: transpose rows of A into the panel.
			start := i*a.Stride + p0
			if trMR != nil && mr <= 16 && kc >= 16 {
				k16 := kc / 16
				trMR(&panel[0], mr, &a.Data[start], a.Stride, rows, k16)
				if k16*16 < kc {
					transposeRunsGo(panel[k16*16*mr:], mr, a.Data, start+k16*16, a.Stride, rows, kc-k16*16)
				}
				continue
			}
			transposeRuns(panel, mr, a.Data, start, a.Stride, rows, kc, tr)
		}
	}
}

// packB packs rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into dst as ⌈nc/nr⌉ panels
// of kc×nr values each. The last panel is padded with zeros to nr columns.
func packB(dst []float32, b Matrix, tB Transpose, p0, kc, j0, nc, nr int, tr transposer) {
	for q := 0; q*nr < nc; q++ {
		cols := min(nr, nc-q*nr)
		panel := dst[q*kc*nr : (q+1)*kc*nr]
		j := j0 + q*nr
		if tB {
			// op(B)(p, j) = B[j, p]: transpose rows of B into the panel.
			transposeRuns(panel, nr, b.Data, j*b.Stride+p0, b.Stride, cols, kc, tr)
		} else {
			copyRuns(panel, nr, b.Data, p0*b.Stride+j, b.Stride, cols, kc)
		}
		if cols < nr {
			for p := 0; p < kc; p++ {
				clear(panel[p*nr+cols : (p+1)*nr])
			}
		}
	}
}

// copyRuns copies kc runs of w values, run p starting at src[start+p*stride], to
// dst[p*ld : p*ld+w].
func copyRuns(dst []float32, ld int, src []float32, start, stride, w, kc int) {
	for p := 0; p < kc; p++ {
		s := start + p*stride
		copy(dst[p*ld:p*ld+w], src[s:s+w])
	}
}

// transposer transposes blocks×k16 blocks of 16×16 values (see transposeAVX512): the block
// at src rows 16h.., columns 16q.. goes to dst rows 16q.., columns 16h... Strides in elements.
type transposer func(dst *float32, ldd int, src *float32, lds int, blocks, k16 int)

// panelTransposer transposes k16 blocks of rows×16 values (rows ≤ 16 rows of src, columns
// 16q..) into 16×rows blocks of dst (rows 16q.., stride ldd): a row panel of an
// untransposed A.
type panelTransposer func(dst *float32, ldd int, src *float32, lds int, rows, k16 int)

// transposeRuns writes w rows of kc values, row r starting at src[start+r*stride], to
// dst[r + p*ld] for p < kc: the transposition of a w×kc block into kc×ld layout. With a
// transposer, whole 16×16 blocks go through it and only the edges are done in Go.
func transposeRuns(dst []float32, ld int, src []float32, start, stride, w, kc int, tr transposer) {
	if tr != nil && w >= 16 && kc >= 16 {
		w16, k16 := w/16*16, kc/16
		tr(&dst[0], ld, &src[start], stride, w16/16, k16)
		if k16*16 < kc {
			transposeRunsGo(dst[k16*16*ld:], ld, src, start+k16*16, stride, w16, kc-k16*16)
		}
		if w16 < w {
			transposeRunsGo(dst[w16:], ld, src, start+w16*stride, stride, w-w16, kc)
		}
		return
	}
	transposeRunsGo(dst, ld, src, start, stride, w, kc)
}

// transposeRunsGo is the portable transposeRuns.
func transposeRunsGo(dst []float32, ld int, src []float32, start, stride, w, kc int) {
	if kc == 0 {
		return
	}
	dst = dst[:(kc-1)*ld+w]
	r := 0
	for ; r+4 <= w; r += 4 {
		s0 := src[start+r*stride:][:kc]
		s1 := src[start+(r+1)*stride:][:kc]
		s2 := src[start+(r+2)*stride:][:kc]
		s3 := src[start+(r+3)*stride:][:kc]
		for p := range s0 {
			d := dst[p*ld+r:][:4]
			d[0], d[1], d[2], d[3] = s0[p], s1[p], s2[p], s3[p]
		}
	}
	for ; r < w; r++ {
		s := src[start+r*stride:][:kc]
		for p, v := range s {
			dst[p*ld+r] = v
		}
	}
}
