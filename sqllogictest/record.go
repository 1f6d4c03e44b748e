package sqllogictest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Format is a test-file dialect.
type Format uint8

// The supported formats.
const (
	// FormatSQLite is sqlite's original sqllogictest format (.test files):
	// results one value per line, typed I/T/R rendering, MD5 hashing.
	FormatSQLite Format = iota
	// FormatRS is the sqllogictest-rs format as RisingWave uses it (.slt):
	// results one row per line in PostgreSQL text form, inline error
	// regexes, include/sleep/control directives.
	FormatRS
)

func (f Format) String() string {
	if f == FormatRS {
		return "sqllogictest-rs"
	}
	return "sqlite"
}

// Kind is what a record does.
type Kind uint8

// Record kinds.
const (
	KindStatement Kind = iota
	KindQuery
	KindHashThreshold
	KindHalt
	KindInclude
	KindSleep
	KindSortMode     // control sortmode …
	KindSubstitution // control substitution on|off (accepted, ignored)
	KindSubtest
	// KindInvalid is a record the parser could not understand (unknown
	// directive, malformed header). The runner reports it as a failure.
	KindInvalid
)

// SortMode is how query results are ordered before comparison.
type SortMode uint8

// Sort modes.
const (
	// SortDefault means "not given": the file's default (control sortmode
	// in the rs format, nosort otherwise).
	SortDefault SortMode = iota
	NoSort
	RowSort
	ValueSort
)

func (m SortMode) String() string {
	switch m {
	case NoSort:
		return "nosort"
	case RowSort:
		return "rowsort"
	case ValueSort:
		return "valuesort"
	}
	return ""
}

func parseSortMode(s string) (SortMode, bool) {
	switch s {
	case "nosort":
		return NoSort, true
	case "rowsort":
		return RowSort, true
	case "valuesort":
		return ValueSort, true
	}
	return SortDefault, false
}

// Condition is an onlyif/skipif prefix.
type Condition struct {
	SkipIf bool   // skipif when true, onlyif when false
	Engine string // the engine named
}

// Record is one parsed record of a test file.
type Record struct {
	Kind Kind
	// File is the path the record was read from and Line the 1-based line
	// of its directive (the statement/query/… line, after any conditions).
	// File:Line identifies a record in failure reports and in the
	// known-failures list.
	File string
	Line int

	Conditions []Condition
	SQL        string

	// Statements and queries expected to fail.
	ExpectError bool
	// ErrorRegex is the rs format's inline pattern after "error" (empty:
	// any error); ErrorMessage with HasErrorMessage the exact multi-line
	// message under "----".
	ErrorRegex      *regexp.Regexp
	ErrorMessage    string
	HasErrorMessage bool

	// statement count N (rs format).
	HasCount    bool
	ExpectCount int64

	// Queries.
	Types    string // column type letters (I, T, R, …)
	SortMode SortMode
	Label    string
	// Results are the expected lines under "----": one value per line
	// (sqlite) or one row per line (rs), or a single
	// "N values hashing to H" line.
	Results []string

	// Threshold for KindHashThreshold; Arg holds the include pattern, the
	// subtest name, or the offending text of a KindInvalid record;
	// Duration is a sleep's length.
	Threshold int
	Arg       string
	Duration  time.Duration
	// Problem explains a KindInvalid record.
	Problem string

	// ResultStart/ResultEnd are 0-based line indexes: the lines
	// [ResultStart, ResultEnd) hold the "----" separator and the result
	// block (empty range at the insertion point when absent). --complete
	// replaces them.
	ResultStart, ResultEnd int
}

// Loc is "file:line".
func (r *Record) Loc() string { return fmt.Sprintf("%s:%d", r.File, r.Line) }

// Skipped reports whether the conditions exclude the record for an engine
// known under any of the names in engines.
func (r *Record) Skipped(engines []string) bool {
	for _, c := range r.Conditions {
		named := false
		for _, e := range engines {
			if strings.EqualFold(c.Engine, e) {
				named = true
				break
			}
		}
		if c.SkipIf == named {
			return true
		}
	}
	return false
}

var hashLineRE = regexp.MustCompile(`^(\d+) values hashing to ([0-9a-f]{32})$`)

// expectedHash reports whether the expected results are a hash line.
func (r *Record) expectedHash() (n int, hash string, ok bool) {
	if len(r.Results) != 1 {
		return 0, "", false
	}
	m := hashLineRE.FindStringSubmatch(strings.TrimSpace(r.Results[0]))
	if m == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, "", false
	}
	return n, m[2], true
}
