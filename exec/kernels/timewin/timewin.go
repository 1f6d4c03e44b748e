package timewin

import (
	"math"
	"math/bits"

	"github.com/sabotsql/sabotsql/internal/checked"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

// Micros returns iv as microseconds (a day is 24 hours). Intervals with
// months are refused (0A000): their length depends on the calendar.
func Micros(iv types.Interval) (int64, error) {
	if iv.Months != 0 {
		return 0, pgerror.Unsupported("window intervals with months or years are not supported")
	}
	hi, lo := bits.Mul64(uint64(abs64(int64(iv.Days))), uint64(types.MicrosPerDay))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, errRange()
	}
	d := int64(lo)
	if iv.Days < 0 {
		d = -d
	}
	s, ok := checked.Add(d, iv.Micros)
	if !ok {
		return 0, errRange()
	}
	return s, nil
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// positive returns iv in microseconds and checks it is > 0 (22023).
func positive(iv types.Interval, what string) (int64, error) {
	v, err := Micros(iv)
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, pgerror.New(pgerror.InvalidParameterValue, "window %s must be greater than zero", what)
	}
	return v, nil
}

func errRange() error {
	return pgerror.New(pgerror.DatetimeFieldOverflow, "timestamp out of range")
}

// floorMod returns x mod m in [0, m) for m > 0.
func floorMod(x, m int64) int64 {
	r := x % m
	if r < 0 {
		r += m
	}
	return r
}

// finite rejects the ±infinity timestamps.
func finite(ts int64) error {
	if ts == math.MinInt64 || ts == math.MaxInt64 {
		return pgerror.New(pgerror.DatetimeFieldOverflow, "timestamp out of range: infinite timestamps have no window")
	}
	return nil
}

// alignDown returns the largest value ≤ ts congruent to off modulo step
// (off already in [0, step)).
func alignDown(ts, step, off int64) (int64, error) {
	if err := finite(ts); err != nil {
		return 0, err
	}
	// ts - floorMod(ts - off, step) without overflowing ts - off.
	r := floorMod(floorMod(ts, step)-off, step)
	s, ok := checked.Sub(ts, r)
	if !ok {
		return 0, errRange()
	}
	return s, nil
}

// tumbleParams validates size and offset and returns them in microseconds,
// the offset reduced to [0, size).
func tumbleParams(size, offset types.Interval) (int64, int64, error) {
	sz, err := positive(size, "size")
	if err != nil {
		return 0, 0, err
	}
	off, err := Micros(offset)
	if err != nil {
		return 0, 0, err
	}
	return sz, floorMod(off, sz), nil
}

// TumbleStart returns the start of the tumbling window of the given size
// (shifted by offset) that contains ts.
func TumbleStart(ts int64, size, offset types.Interval) (int64, error) {
	sz, off, err := tumbleParams(size, offset)
	if err != nil {
		return 0, err
	}
	return alignDown(ts, sz, off)
}

// ValidateHop checks hop's slide and size: no months (0A000), both > 0 and
// size a multiple of slide (22023).
func ValidateHop(slide, size types.Interval) error {
	_, _, err := hopParams(slide, size)
	return err
}

func hopParams(slide, size types.Interval) (sl, sz int64, err error) {
	if sl, err = positive(slide, "slide"); err != nil {
		return 0, 0, err
	}
	if sz, err = positive(size, "size"); err != nil {
		return 0, 0, err
	}
	if sz%sl != 0 {
		return 0, 0, pgerror.New(pgerror.InvalidParameterValue, "invalid window size: hop size must be divisible by the slide size")
	}
	return sl, sz, nil
}

// MaxWindowsPerRow bounds size/slide of a hop (54000 above it).
const MaxWindowsPerRow = 1 << 20

// hopper holds validated hop parameters in microseconds.
type hopper struct {
	slide, size, off int64
	n                int // windows per row
}

func newHopper(slide, size, offset types.Interval) (hopper, error) {
	sl, sz, err := hopParams(slide, size)
	if err != nil {
		return hopper{}, err
	}
	off, err := Micros(offset)
	if err != nil {
		return hopper{}, err
	}
	n := sz / sl
	if n > MaxWindowsPerRow {
		return hopper{}, pgerror.New(pgerror.ProgramLimitExceeded, "hop size / slide is %d windows per row, more than the limit of %d", n, MaxWindowsPerRow)
	}
	return hopper{slide: sl, size: sz, off: floorMod(off, sl), n: int(n)}, nil
}

// starts appends the window starts of ts in ascending order.
func (h hopper) starts(ts int64, dst []int64) ([]int64, error) {
	last, err := alignDown(ts, h.slide, h.off)
	if err != nil {
		return dst, err
	}
	back := int64(h.n-1) * h.slide // ≤ size, fits
	first, ok := checked.Sub(last, back)
	if !ok {
		return dst, errRange()
	}
	if _, ok := checked.Add(last, h.size); !ok {
		return dst, errRange()
	}
	for k := 0; k < h.n; k++ {
		dst = append(dst, first+int64(k)*h.slide)
	}
	return dst, nil
}

// HopStarts appends to dst the starts of the size/slide hopping windows that
// contain ts, ascending, and returns the extended slice.
func HopStarts(ts int64, slide, size, offset types.Interval, dst []int64) ([]int64, error) {
	h, err := newHopper(slide, size, offset)
	if err != nil {
		return dst, err
	}
	return h.starts(ts, dst)
}

// SessionWindows assigns session windows to timestamps sorted ascending:
// starts[i], ends[i] are the window of sortedTs[i]. gap must be > 0 (22023).
func SessionWindows(sortedTs []int64, gap types.Interval) (starts, ends []int64, err error) {
	g, err := positive(gap, "gap")
	if err != nil {
		return nil, nil, err
	}
	n := len(sortedTs)
	starts, ends = make([]int64, n), make([]int64, n)
	for i := 0; i < n; {
		if i > 0 && sortedTs[i] < sortedTs[i-1] {
			return nil, nil, pgerror.Internal("timewin: session timestamps are not sorted")
		}
		j := i + 1
		for j < n && sortedTs[j] >= sortedTs[j-1] && Within(sortedTs[j-1], sortedTs[j], g) {
			j++
		}
		end, ok := checked.Add(sortedTs[j-1], g)
		if !ok {
			return nil, nil, errRange()
		}
		for k := i; k < j; k++ {
			starts[k], ends[k] = sortedTs[i], end
		}
		i = j
	}
	return starts, ends, nil
}

// Within reports whether next - prev < gap (prev ≤ next, gap > 0) without
// overflow: whether next joins prev's session.
func Within(prev, next, gap int64) bool {
	d, ok := checked.Sub(next, prev)
	return ok && d < gap
}
