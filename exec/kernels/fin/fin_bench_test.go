package fin

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Benchmarks report ns/update: the cost of folding one row into its
// group's state, with group ids drawn uniformly from 1K, 100K or 1M
// symbols (so the larger sizes measure cache misses on the state), in
// batches of 1024 rows as the executor feeds them.

var benchGroups = []int{1_000, 100_000, 1_000_000}

const benchBatch = 1024

// benchInput is a set of pre-built batches cycled through by a benchmark.
type benchInput struct {
	groups [][]uint32
	cols   [][]arrow.Array
}

func makeBenchInput(ng, ncols int, alpha float64) benchInput {
	rng := rand.New(rand.NewPCG(uint64(ng), 1))
	const nb = 64
	in := benchInput{groups: make([][]uint32, nb), cols: make([][]arrow.Array, nb)}
	for b := range nb {
		g := make([]uint32, benchBatch)
		for i := range g {
			g[i] = uint32(rng.IntN(ng))
		}
		in.groups[b] = g
		cols := make([]arrow.Array, ncols)
		for c := range cols {
			bld := array.NewFloat64Builder(memory.DefaultAllocator)
			for range benchBatch {
				if c == ncols-1 && alpha > 0 {
					bld.Append(alpha)
				} else {
					bld.Append(100 + rng.NormFloat64())
				}
			}
			cols[c] = bld.NewArray()
			bld.Release()
		}
		in.cols[b] = cols
	}
	return in
}

func (in benchInput) release() {
	for _, cs := range in.cols {
		release(cs)
	}
}

func benchAgg(b *testing.B, name string, ncols int, alpha float64) {
	for _, ng := range benchGroups {
		b.Run(fmt.Sprintf("groups=%d", ng), func(b *testing.B) {
			in := makeBenchInput(ng, ncols, alpha)
			defer in.release()
			fn := aggOf(b, name, f8s(ncols)...)
			acc := fn.New(f8s(ncols), types.Float8T)
			acc.Grow(ng)
			ctx := &kernels.EvalContext{}
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				k := i % len(in.groups)
				if err := acc.Update(ctx, in.groups[k], in.cols[k]); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*benchBatch)
			b.ReportMetric(ns, "ns/update")
			b.ReportMetric(1e9/ns, "rows/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*benchBatch), "cpu-ns/update")
		})
	}
}

func BenchmarkEWMA(b *testing.B) { benchAgg(b, "ewma", 2, 0.06) }

func BenchmarkEWStd(b *testing.B) { benchAgg(b, "ewstd", 2, 0.94) }

func BenchmarkVWAP(b *testing.B) { benchAgg(b, "vwap", 2, 0) }

func BenchmarkOFI(b *testing.B) { benchAgg(b, "ofi", 4, 0) }

// BenchmarkRollingStddev measures a sliding ROWS frame of 10 rows per
// symbol maintained incrementally: each update adds the new value to its
// group's Welford state and removes the value that leaves the frame (the
// work a Retractor does per row), then reads the standard deviation.
func BenchmarkRollingStddev(b *testing.B) {
	const width = 10
	for _, ng := range benchGroups {
		b.Run(fmt.Sprintf("groups=%d", ng), func(b *testing.B) {
			in := makeBenchInput(ng, 1, 0)
			defer in.release()
			st := make([]welford, ng)
			ring := make([]float64, ng*width)
			count := make([]uint32, ng)
			var sink float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				k := i % len(in.groups)
				xs := in.cols[k][0].(*array.Float64).Float64Values()
				for j, g := range in.groups[k] {
					x := xs[j]
					c := count[g]
					slot := int(g)*width + int(c%width)
					if c >= width {
						st[g].remove(ring[slot])
					}
					ring[slot] = x
					count[g] = c + 1
					st[g].add(x)
					sd, _ := st[g].stddevSamp()
					sink += sd
				}
			}
			b.StopTimer()
			_ = sink
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*benchBatch)
			b.ReportMetric(ns, "ns/update")
			b.ReportMetric(1e9/ns, "rows/s")
		})
	}
}

// ewmaRefUpdate is the per-row loop ewma used before its dense fast path
// (validity and alpha range checked on every row), kept to report
// before/after figures from one run.
func ewmaRefUpdate(st []ewmaState, groups []uint32, x, al col[float64]) error {
	xs, as := x.vals[:len(groups)], al.vals[:len(groups)]
	dense := x.vm == nil && al.vm == nil
	for i, g := range groups {
		if g == kernels.NoGroup || !dense && (!x.valid(i) || !al.valid(i)) {
			continue
		}
		alpha, v := as[i], xs[i]
		if !(alpha > 0 && alpha <= 1) {
			return errRange("ewma", "alpha", "(0, 1]", alpha)
		}
		s := &st[g]
		if s.has && alpha != 1 {
			prev := s.s
			v = prev + alpha*(v-prev)
			if v != v && prev == prev && xs[i] == xs[i] {
				v = alpha*xs[i] + (1-alpha)*prev
			}
		}
		s.s, s.has = v, true
	}
	return nil
}

// BenchmarkEWMABefore is BenchmarkEWMA through ewmaRefUpdate.
func BenchmarkEWMABefore(b *testing.B) {
	for _, ng := range benchGroups {
		b.Run(fmt.Sprintf("groups=%d", ng), func(b *testing.B) {
			in := makeBenchInput(ng, 2, 0.06)
			defer in.release()
			st := make([]ewmaState, ng)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				k := i % len(in.groups)
				x, _ := floatArg("ewma", in.cols[k], 0, benchBatch)
				al, _ := floatArg("ewma", in.cols[k], 1, benchBatch)
				if err := ewmaRefUpdate(st, in.groups[k], x, al); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime() - cpu0
			b.StopTimer()
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N*benchBatch)
			b.ReportMetric(ns, "ns/update")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*benchBatch), "cpu-ns/update")
		})
	}
}

// cpuTime is the process's user+system CPU time: reported per update
// beside wall time, which on a shared machine includes waiting for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEWMATouch is a streaming aggregate's per-chunk work on the
// ewma state: the group bookkeeping (kernels.TouchRows) then Update
// (fused=false), or both in one loop (FoldTouch, fused=true); a new epoch
// every 16 batches, as in the operator benchmarks.
func BenchmarkEWMATouch(b *testing.B) {
	for _, fused := range []bool{false, true} {
		for _, ng := range benchGroups {
			b.Run(fmt.Sprintf("fused=%v/groups=%d", fused, ng), func(b *testing.B) {
				in := makeBenchInput(ng, 2, 0.06)
				defer in.release()
				fn := aggOf(b, "ewma", f8s(2)...)
				acc := fn.New(f8s(2), types.Float8T)
				acc.Grow(ng)
				tf := acc.(kernels.TouchFolder)
				ctx := &kernels.EvalContext{}
				t := kernels.Touch{Book: make([]kernels.GroupBook, ng), Stamp: 1}
				b.ResetTimer()
				cpu0 := cpuTime()
				for i := 0; i < b.N; i++ {
					k := i % len(in.groups)
					if i%16 == 0 {
						t.Stamp++
						t.Dirty, t.OldExists = t.Dirty[:0], t.OldExists[:0]
					}
					if fused {
						if ok, err := tf.FoldTouch(ctx, in.groups[k], in.cols[k], &t); !ok || err != nil {
							b.Fatal(ok, err)
						}
						continue
					}
					kernels.TouchRows(in.groups[k], &t)
					if err := acc.Update(ctx, in.groups[k], in.cols[k]); err != nil {
						b.Fatal(err)
					}
				}
				cpu := cpuTime() - cpu0
				b.StopTimer()
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*benchBatch), "cpu-ns/update")
			})
		}
	}
}
