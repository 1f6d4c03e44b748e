//go:build unix

package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// dimSource emits its chunks once, then a new barrier on every call.
type dimSource struct {
	schema *arrow.Schema
	chunks []*Chunk
	epoch  uint64
}

func (d *dimSource) Schema() *arrow.Schema { return d.schema }
func (d *dimSource) Close() error {
	for _, c := range d.chunks {
		c.Release()
	}
	d.chunks = nil
	return nil
}
func (d *dimSource) Next(context.Context) (Message, error) {
	if len(d.chunks) > 0 {
		c := d.chunks[0]
		d.chunks = d.chunks[1:]
		return c, nil
	}
	d.epoch++
	return Barrier{Epoch: d.epoch}, nil
}

// BenchmarkHashJoin measures fact rows/s through an inner HashJoin of a
// fact stream (k int4, v int8, name text; 1024-row chunks, a barrier every
// 16) with a 100K-row dimension (k int4, name text) loaded before the first
// barrier: the shape of `sabotsql bench --scenario join` (key k; key=text
// joins on name instead). Fact rows are fresh (the chunks are generated
// for b.N rows up front). With deletes, every tenth fact row retracts the
// row before it. rows/cpu-s counts the process's CPU time, which is what
// compares on a shared machine.
func BenchmarkHashJoin(b *testing.B) {
	for _, bc := range []struct {
		key     string
		deletes bool
	}{{"int", false}, {"int", true}, {"text", false}} {
		deletes := bc.deletes
		b.Run(fmt.Sprintf("key=%s/deletes=%v", bc.key, deletes), func(b *testing.B) {
			const dim = 100_000
			mem := memory.DefaultAllocator
			dts := []types.T{types.Int4T, types.TextT}
			fts := []types.T{types.Int4T, types.Int8T, types.TextT}
			ds, fs := typedSchema(dts), typedSchema(fts)
			src := &dimSource{schema: ds}
			for lo := 0; lo < dim; lo += 1024 {
				kb, nb := array.NewInt32Builder(mem), array.NewStringBuilder(mem)
				var ops []Op
				for k := lo; k < min(lo+1024, dim); k++ {
					kb.Append(int32(k))
					nb.Append(fmt.Sprintf("n%d", k))
					ops = append(ops, Insert)
				}
				ka, na := kb.NewArray(), nb.NewArray()
				src.chunks = append(src.chunks, &Chunk{Batch: array.NewRecordBatch(ds, []arrow.Array{ka, na}, int64(len(ops))), Ops: ops})
				ka.Release()
				na.Release()
				kb.Release()
				nb.Release()
			}
			rng := rand.New(rand.NewPCG(3, 4))
			fact := &replaySource{schema: fs, every: 16}
			for range max(64, b.N/1024+2) {
				kb, vb, nb := array.NewInt32Builder(mem), array.NewInt64Builder(mem), array.NewStringBuilder(mem)
				ops := make([]Op, 1024)
				var prevK int32
				var prevV int64
				for i := range ops {
					k, v := int32(rng.IntN(dim)), rng.Int64()
					if deletes && i > 0 && i%10 == 0 {
						k, v, ops[i] = prevK, prevV, Delete
					}
					kb.Append(k)
					vb.Append(v)
					nb.Append("n" + strconv.Itoa(int(k)))
					prevK, prevV = k, v
				}
				cols := []arrow.Array{kb.NewArray(), vb.NewArray(), nb.NewArray()}
				fact.chunks = append(fact.chunks, &Chunk{Batch: array.NewRecordBatch(fs, cols, 1024), Ops: ops})
				for _, a := range cols {
					a.Release()
				}
				kb.Release()
				vb.Release()
				nb.Release()
			}
			defer func() {
				for _, c := range fact.chunks {
					c.Release()
				}
			}()
			fk, dk := []int{0}, []int{0}
			if bc.key == "text" {
				fk, dk = []int{2}, []int{1}
			}
			j, err := NewHashJoin(fact, src, fts, dts, fk, dk, InnerJoin)
			require.NoError(b, err)
			defer j.Close()
			ctx := context.Background()
			// Load the dimension (the first epoch).
			for {
				m, err := j.Next(ctx)
				require.NoError(b, err)
				ReleaseMessage(m)
				if _, ok := m.(Barrier); ok {
					break
				}
			}
			b.ResetTimer()
			cpu0 := processCPU(b)
			rows := 0
			for rows < b.N {
				m, err := j.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if c, ok := m.(*Chunk); ok {
					rows += c.NumRows()
					c.Release()
				}
			}
			cpu := processCPU(b) - cpu0
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(rows)/cpu.Seconds(), "rows/cpu-s")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(rows), "cpu-ns/row")
		})
	}
}

// processCPU is the CPU time (user + system) the process used so far: on a
// shared machine, rows per CPU second is the figure that compares.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
