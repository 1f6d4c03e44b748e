package timewin

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/sql/types"
)

// The expectations of RisingWave's e2e_test/streaming/time_window.slt over
// its eight rows (row_id, uid, v, created_at).
type rwRow struct {
	id, uid, v int64
	at         string
}

var rwRows = []rwRow{
	{1, 1, 4, "2022-01-01 10:00:00"}, {2, 3, 3, "2022-01-01 10:05:00"},
	{3, 2, 2, "2022-01-01 10:14:00"}, {4, 1, 1, "2022-01-01 10:22:00"},
	{5, 3, 5, "2022-01-01 10:33:00"}, {6, 2, 7, "2022-01-01 10:42:00"},
	{7, 1, 6, "2022-01-01 10:51:00"}, {8, 3, 8, "2022-01-01 11:02:00"},
}

const layout = "2006-01-02 15:04:05"

func parseTS(t *testing.T, s string) int64 {
	tm, err := time.Parse(layout, s)
	require.NoError(t, err)
	return tm.UnixMicro()
}

func fmtTS(v int64) string { return time.UnixMicro(v).UTC().Format(layout) }

func minutes(n int64) types.Interval { return types.Interval{Micros: n * types.MicrosPerMinute} }

func TestRisingWaveTumble(t *testing.T) {
	var got []string
	sums := map[string]int64{}
	perUID := map[string]int64{}
	for _, r := range rwRows {
		ts := parseTS(t, r.at)
		ws, err := TumbleStart(ts, minutes(30), types.Interval{})
		require.NoError(t, err)
		got = append(got, fmt.Sprintf("%d %d %s %s %s", r.id, r.uid, r.at, fmtTS(ws), fmtTS(ws+30*types.MicrosPerMinute)))
		sums[fmtTS(ws)] += r.v
		perUID[fmt.Sprintf("%s %d", fmtTS(ws), r.uid)] += r.v
	}
	require.Equal(t, []string{
		"1 1 2022-01-01 10:00:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"2 3 2022-01-01 10:05:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"3 2 2022-01-01 10:14:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"4 1 2022-01-01 10:22:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"5 3 2022-01-01 10:33:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
		"6 2 2022-01-01 10:42:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
		"7 1 2022-01-01 10:51:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
		"8 3 2022-01-01 11:02:00 2022-01-01 11:00:00 2022-01-01 11:30:00",
	}, got)
	require.Equal(t, []string{"10 2022-01-01 10:00:00", "18 2022-01-01 10:30:00", "8 2022-01-01 11:00:00"}, aggLines(sums, false))
	require.Equal(t, []string{
		"1 5 2022-01-01 10:00:00", "2 2 2022-01-01 10:00:00", "3 3 2022-01-01 10:00:00",
		"1 6 2022-01-01 10:30:00", "2 7 2022-01-01 10:30:00", "3 5 2022-01-01 10:30:00",
		"3 8 2022-01-01 11:00:00",
	}, aggLines(perUID, true))
}

// aggLines renders sum maps as the slt prints them, ordered by window
// (and uid).
func aggLines(m map[string]int64, withUID bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		if withUID {
			ws, uid := k[:len(layout)], k[len(layout)+1:]
			out = append(out, fmt.Sprintf("%s %d %s", uid, m[k], ws))
		} else {
			out = append(out, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return out
}

func TestRisingWaveHop(t *testing.T) {
	var got []string
	sums := map[string]int64{}
	perUID := map[string]int64{}
	for _, r := range rwRows {
		ts := parseTS(t, r.at)
		starts, err := HopStarts(ts, minutes(15), minutes(30), types.Interval{}, nil)
		require.NoError(t, err)
		for _, ws := range starts {
			got = append(got, fmt.Sprintf("%d %d %s %s %s", r.id, r.uid, r.at, fmtTS(ws), fmtTS(ws+30*types.MicrosPerMinute)))
			sums[fmtTS(ws)] += r.v
			perUID[fmt.Sprintf("%s %d", fmtTS(ws), r.uid)] += r.v
		}
	}
	require.Equal(t, []string{
		"1 1 2022-01-01 10:00:00 2022-01-01 09:45:00 2022-01-01 10:15:00",
		"1 1 2022-01-01 10:00:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"2 3 2022-01-01 10:05:00 2022-01-01 09:45:00 2022-01-01 10:15:00",
		"2 3 2022-01-01 10:05:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"3 2 2022-01-01 10:14:00 2022-01-01 09:45:00 2022-01-01 10:15:00",
		"3 2 2022-01-01 10:14:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"4 1 2022-01-01 10:22:00 2022-01-01 10:00:00 2022-01-01 10:30:00",
		"4 1 2022-01-01 10:22:00 2022-01-01 10:15:00 2022-01-01 10:45:00",
		"5 3 2022-01-01 10:33:00 2022-01-01 10:15:00 2022-01-01 10:45:00",
		"5 3 2022-01-01 10:33:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
		"6 2 2022-01-01 10:42:00 2022-01-01 10:15:00 2022-01-01 10:45:00",
		"6 2 2022-01-01 10:42:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
		"7 1 2022-01-01 10:51:00 2022-01-01 10:30:00 2022-01-01 11:00:00",
		"7 1 2022-01-01 10:51:00 2022-01-01 10:45:00 2022-01-01 11:15:00",
		"8 3 2022-01-01 11:02:00 2022-01-01 10:45:00 2022-01-01 11:15:00",
		"8 3 2022-01-01 11:02:00 2022-01-01 11:00:00 2022-01-01 11:30:00",
	}, got)
	require.Equal(t, []string{
		"9 2022-01-01 09:45:00", "10 2022-01-01 10:00:00", "13 2022-01-01 10:15:00",
		"18 2022-01-01 10:30:00", "14 2022-01-01 10:45:00", "8 2022-01-01 11:00:00",
	}, aggLines(sums, false))
	require.Equal(t, []string{
		"1 4 2022-01-01 09:45:00", "2 2 2022-01-01 09:45:00", "3 3 2022-01-01 09:45:00",
		"1 5 2022-01-01 10:00:00", "2 2 2022-01-01 10:00:00", "3 3 2022-01-01 10:00:00",
		"1 1 2022-01-01 10:15:00", "2 7 2022-01-01 10:15:00", "3 5 2022-01-01 10:15:00",
		"1 6 2022-01-01 10:30:00", "2 7 2022-01-01 10:30:00", "3 5 2022-01-01 10:30:00",
		"1 6 2022-01-01 10:45:00", "3 8 2022-01-01 10:45:00",
		"3 8 2022-01-01 11:00:00",
	}, aggLines(perUID, true))
}

func TestRisingWaveHopDays(t *testing.T) {
	rows := append(append([]rwRow(nil), rwRows...),
		rwRow{9, 1, 4, "2022-01-02 10:00:00"}, rwRow{10, 3, 3, "2022-01-03 10:05:00"},
		rwRow{11, 2, 2, "2022-01-04 10:14:00"}, rwRow{12, 1, 1, "2022-01-05 10:22:00"})
	perUID := map[string]int64{}
	for _, r := range rows {
		starts, err := HopStarts(parseTS(t, r.at), types.Interval{Days: 1}, types.Interval{Days: 2}, types.Interval{}, nil)
		require.NoError(t, err)
		for _, ws := range starts {
			perUID[fmt.Sprintf("%s %d", fmtTS(ws), r.uid)] += r.v
		}
	}
	require.Equal(t, []string{
		"1 11 2021-12-31 00:00:00", "2 9 2021-12-31 00:00:00", "3 16 2021-12-31 00:00:00",
		"1 15 2022-01-01 00:00:00", "2 9 2022-01-01 00:00:00", "3 16 2022-01-01 00:00:00",
		"1 4 2022-01-02 00:00:00", "3 3 2022-01-02 00:00:00",
		"2 2 2022-01-03 00:00:00", "3 3 2022-01-03 00:00:00",
		"1 1 2022-01-04 00:00:00", "2 2 2022-01-04 00:00:00",
		"1 1 2022-01-05 00:00:00",
	}, aggLines(perUID, true))
}
