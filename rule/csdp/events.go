package csdp

import (
	"github.com/copi-learn/copi/mat32"
)

// events is one layer's activity at one step as a dense 0/1 (or real) matrix together with,
// per row, the ascending list of its nonzero columns: the spikes (or, for traces, the
// support). The lists make the circuit's synaptic work proportional to the number of
// events, not of synapses.
type events struct {
	m   mat32.Matrix // rows × n
	idx []int32      // row b's list is idx[b*n : b*n+cnt[b]]
	cnt []int32
	n   int
}

func newEvents(rows, n int) events {
	return events{m: mat32.New(rows, n), idx: make([]int32, rows*n), cnt: make([]int32, rows), n: n}
}

// list returns row b's events.
func (s *events) list(b int) []int32 { return s.idx[b*s.n : b*s.n+int(s.cnt[b])] }

// index rebuilds row b's list from its dense row.
func (s *events) index(b int) {
	row := s.m.Row(b)
	l := s.idx[b*s.n : (b+1)*s.n]
	k := 0
	for j, v := range row {
		if v != 0 {
			l[k] = int32(j)
			k++
		}
	}
	s.cnt[b] = int32(k)
}

// clear zeroes rows [0, rows) (only at their events) and empties their lists.
func (s *events) clear(rows int) {
	for b := 0; b < rows; b++ {
		row := s.m.Row(b)
		for _, j := range s.list(b) {
			row[j] = 0
		}
		s.cnt[b] = 0
	}
}

// total returns the number of events in rows [0, rows).
func (s *events) total(rows int) int {
	t := 0
	for _, c := range s.cnt[:rows] {
		t += int(c)
	}
	return t
}

// rate returns the fraction of nonzero entries in rows [0, rows).
func (s *events) rate(rows int) float64 {
	if rows == 0 || s.n == 0 {
		return 0
	}
	return float64(s.total(rows)) / float64(rows*s.n)
}

// kernel selects how a synaptic product is computed.
type kernel int

const (
	kSparse kernel = iota // event-driven: only the rows of W whose presynaptic unit fired
	kGemm                 // dense GEMM on the engine
	kOracle               // naive dense loops in the event kernels' summation order (tests)
)

// accumRows computes dst[b,:] = Σ_{i ∈ events(b)} W[i,:] for rows b in [lo, hi), adding
// the rows in ascending i, four at a time with the sums in the same order.
type accumRows struct {
	dst mat32.Matrix
	pre *events
	w   mat32.Matrix
}

func (a *accumRows) Range(lo, hi int) {
	for b := lo; b < hi; b++ {
		d := a.dst.Row(b)
		clear(d)
		l := a.pre.list(b)
		k := 0
		for ; k+4 <= len(l); k += 4 {
			r0, r1, r2, r3 := a.w.Row(int(l[k])), a.w.Row(int(l[k+1])), a.w.Row(int(l[k+2])), a.w.Row(int(l[k+3]))
			r0, r1, r2, r3 = r0[:len(d)], r1[:len(d)], r2[:len(d)], r3[:len(d)]
			for j := range d {
				s := d[j]
				s += r0[j]
				s += r1[j]
				s += r2[j]
				s += r3[j]
				d[j] = s
			}
		}
		for ; k < len(l); k++ {
			r := a.w.Row(int(l[k]))[:len(d)]
			for j, v := range r {
				d[j] += v
			}
		}
	}
}

// oracleCurrent is the dense reference of accumRows: dst[b,j] = Σ_i pre[b,i]·W[i,j] over
// every i in ascending order.
func oracleCurrent(dst, pre, w mat32.Matrix) {
	for b := 0; b < dst.Rows; b++ {
		d := dst.Row(b)
		clear(d)
		p := pre.Row(b)
		for i := range p {
			wr := w.Row(i)
			for j := range d {
				d[j] += p[i] * wr[j]
			}
		}
	}
}

// outerEvents computes G[i, j] += a[b, j] for every row b (ascending), every event i of
// pre row b, and every j in post row b's support (all columns when supp is nil): the
// outer products preᵀ·a over active pairs only. Range splits the rows i of G.
type outerEvents struct {
	g    mat32.Matrix
	pre  *events
	a    mat32.Matrix
	supp *events
	rows int
}

func (o *outerEvents) Range(lo, hi int) {
	for b := 0; b < o.rows; b++ {
		l := o.pre.list(b)
		// The lists are ascending: skip to the first event ≥ lo.
		k := 0
		for k < len(l) && int(l[k]) < lo {
			k++
		}
		ar := o.a.Row(b)
		for ; k < len(l) && int(l[k]) < hi; k++ {
			gr := o.g.Row(int(l[k]))
			if o.supp == nil {
				gr = gr[:len(ar)]
				for j, v := range ar {
					gr[j] += v
				}
				continue
			}
			for _, j := range o.supp.list(b) {
				gr[j] += ar[j]
			}
		}
	}
}

// oracleOuter is the dense reference of outerEvents: G[i,j] += Σ_b pre[b,i]·a[b,j], b
// ascending, over every pair.
func oracleOuter(g, pre, a mat32.Matrix) {
	for b := 0; b < pre.Rows; b++ {
		p, ar := pre.Row(b), a.Row(b)
		for i, pv := range p {
			gr := g.Row(i)
			for j, v := range ar {
				gr[j] += pv * v
			}
		}
	}
}

// pairCounts computes, for the decay term (1−pre)ᵀ·post, the number of rows in which post
// unit j fired (cnt[j]) and in which both pre unit i and post unit j fired (P[i,j], only
// at pairs of events), and lists the post units that fired at all (active, ascending).
func pairCounts(p mat32.Matrix, cnt []float32, active []int32, pre, post *events, rows int) []int32 {
	for b := 0; b < rows; b++ {
		pl := post.list(b)
		for _, j := range pl {
			cnt[j]++
		}
		for _, i := range pre.list(b) {
			pr := p.Row(int(i))
			for _, j := range pl {
				pr[j]++
			}
		}
	}
	active = active[:0]
	for j, c := range cnt {
		if c != 0 {
			active = append(active, int32(j))
		}
	}
	return active
}

// oracleDecayCounts is the dense reference: n[i,j] = Σ_b (1 − pre[b,i])·post[b,j].
func oracleDecayCounts(n, pre, post mat32.Matrix) {
	mat32.Zero(n)
	for b := 0; b < pre.Rows; b++ {
		p, q := pre.Row(b), post.Row(b)
		for i, pv := range p {
			nr := n.Row(i)
			for j, v := range q {
				nr[j] += (1 - pv) * v
			}
		}
	}
}
