// Package timewin holds the event-time window kernels behind the tumble, hop
// and session table functions: the arithmetic that maps a timestamp to its
// window(s) and the vectorized expansion of a batch into one row per (row,
// window). The streaming executors (exec/stream Hop, Session) and the batch
// table functions share it, so both paths agree on every boundary.
//
// Timestamps are int64 microseconds since the epoch (timestamp and
// timestamptz in Arrow). Window sizes are intervals without months: a day is
// 24 hours and windows are aligned to the Unix epoch (plus the offset), in
// UTC, whatever the session time zone — as RisingWave does.
//
// Invariants:
//  1. tumble: window_start = floor((ts - offset) / size) * size + offset,
//     floor rounding toward -inf, so negative timestamps work; window_end =
//     window_start + size.
//  2. hop: size must be a positive multiple of slide; a timestamp belongs to
//     exactly size/slide windows, returned by ascending window_start, each
//     [ws, ws + size) containing ts.
//  3. session: in ts order, consecutive timestamps closer than gap
//     (next - prev < gap) share a session; window_start is its minimum ts and
//     window_end its maximum ts + gap.
//  4. Sizes with months are 0A000, non-positive sizes, slides and gaps are
//     22023, and arithmetic that leaves int64 (including ±infinity inputs) is
//     22008; no input panics.
//  5. A hop yields at most MaxWindowsPerRow windows per row and HopExpand at
//     most MaxExpandRows rows per call; beyond, 54000 instead of exhausting
//     memory.
//  6. NULL timestamps have no window: HopExpand emits no row for them and
//     TumbleStartArray returns NULL.
package timewin
