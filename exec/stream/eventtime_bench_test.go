package stream

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/sql/types"
)

// BenchmarkWatermarkFilter measures rows/s through a WatermarkFilter over
// chunks of 1024 rows (a barrier every 16 chunks), with no late rows and
// with 10% late rows. The watermark expression is a precomputed column so
// the filter itself is measured.
func BenchmarkWatermarkFilter(b *testing.B) {
	for _, latePct := range []int{0, 10} {
		b.Run(fmt.Sprintf("late=%d%%", latePct), func(b *testing.B) {
			s, _ := tsSchema("id", "ts", "wm_ts")
			src := &replaySource{schema: s, every: 16}
			for c := 0; c < 16; c++ {
				text := ""
				for i := 0; i < 1024; i++ {
					ts := int64(c*1024+i) * 1000
					if i%100 < latePct {
						ts = -1e13 // below any watermark once one exists
					}
					text += fmt.Sprintf("+ %d %d %d\n", i, ts, ts-1e12)
				}
				src.chunks = append(src.chunks, tchunk(b, memory.DefaultAllocator, s, text))
			}
			f := NewWatermarkFilter(src, 1, colEval(2), WatermarkOptions{})
			ctx := context.Background()
			rows := 0
			b.ResetTimer()
			for rows < b.N*1024 {
				m, err := f.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if c, ok := m.(*Chunk); ok {
					c.Release()
				}
				if _, ok := m.(Barrier); !ok {
					if _, isWM := m.(Watermark); !isWM {
						rows += 1024
					}
				}
			}
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkHopStream measures input rows/s through Hop (slide 1 minute,
// size 5 minutes: five output rows per input row).
func BenchmarkHopStream(b *testing.B) {
	s, _ := tsSchema("id", "ts")
	src := &replaySource{schema: s, every: 16}
	for c := 0; c < 16; c++ {
		text := ""
		for i := 0; i < 1024; i++ {
			text += fmt.Sprintf("+ %d %d\n", i, int64(c*1024+i)*997*types.MicrosPerSecond)
		}
		src.chunks = append(src.chunks, tchunk(b, memory.DefaultAllocator, s, text))
	}
	h, err := NewHop(src, 1, types.Interval{Micros: types.MicrosPerMinute}, types.Interval{Micros: 5 * types.MicrosPerMinute}, types.Interval{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	rows := 0
	b.ResetTimer()
	for rows < b.N*1024 {
		m, err := h.Next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if c, ok := m.(*Chunk); ok {
			c.Release()
			rows += 1024
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}
