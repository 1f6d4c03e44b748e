package ops

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// tsIntervalVec is the vector form of timestamp[tz] ± interval, the
// expression of every watermark (ts - INTERVAL '5 seconds'). Intervals with
// only a time part add microseconds in a tight loop; month/day steps go
// through the row-wise function for that row.
func tsIntervalVec(tz, minus bool) vecFn {
	rt := types.ArrowType(types.TimestampT)
	if tz {
		rt = types.ArrowType(types.TimestampTZT)
	}
	return func(ctx *kernels.EvalContext, args []arrow.Array, n int) (arrow.Array, error) {
		if err := checkArgs(args, n, 2); err != nil {
			return nil, err
		}
		ts := values[int64](args[0], n)
		ivs := arrow.GetValues[arrow.MonthDayNanoInterval](args[1].Data(), 1)
		if n > 0 && (ts == nil || len(ivs) < n) {
			return nil, pgerror.Internal("timestamp ± interval: unexpected array layout")
		}
		mem := allocator(ctx)
		vbuf, nulls := validity(mem, args, n)
		var valid []byte
		if vbuf != nil {
			valid = vbuf.Bytes()
		}
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(n * 8)
		r := arrow.GetData[int64](buf.Bytes())[:n]
		fail := func(err error) (arrow.Array, error) {
			buf.Release()
			if vbuf != nil {
				vbuf.Release()
			}
			return nil, err
		}
		for i := 0; i < n; i++ {
			iv := ivs[i]
			v := ts[i]
			if iv.Months == 0 && iv.Days == 0 && !isInfTS(v) {
				d := iv.Nanoseconds / 1000
				if minus {
					d = -d
				}
				s := v + d
				if (s^v)&(s^d) >= 0 && validTS(s) {
					r[i] = s
					continue
				}
			}
			if !isValid(valid, i) {
				r[i] = 0
				continue
			}
			x := types.Interval{Months: iv.Months, Days: iv.Days, Micros: iv.Nanoseconds / 1000}
			if minus {
				var err error
				if x, err = negInterval(x); err != nil {
					return fail(err)
				}
			}
			if tz {
				out, err := tstzPlusInterval(ctx, types.TimestampTZ(v), x)
				if err != nil {
					return fail(err)
				}
				r[i] = int64(out)
			} else {
				out, err := tsPlusInterval(types.Timestamp(v), x)
				if err != nil {
					return fail(err)
				}
				r[i] = int64(out)
			}
		}
		return finish(rt, n, vbuf, buf, nulls), nil
	}
}
