package sqllogictest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultEngines are the names skipif/onlyif conditions are matched
// against: our own, and PostgreSQL's since we speak its dialect.
var defaultEngines = []string{"sabotsql", "postgresql"}

// DefaultRecordTimeout bounds one record when Options.RecordTimeout is 0.
const DefaultRecordTimeout = 2 * time.Minute

// maxIncludeDepth bounds nested includes (and so include cycles).
const maxIncludeDepth = 16

// Options configure Run.
type Options struct {
	// Driver opens one fresh DB per file. Required.
	Driver Driver
	// Engines are the engine names conditions match; nil means
	// {"sabotsql", "postgresql"}.
	Engines []string
	// Jobs is how many files run in parallel (at least 1).
	Jobs int
	// Complete rewrites the expected results of queries in place from the
	// engine's actual output instead of comparing them.
	Complete bool
	// JUnitPath, when set, receives a JUnit XML report.
	JUnitPath string
	// KnownFailures lists records expected to fail (nil: none).
	KnownFailures *KnownFailures
	// RecordTimeout bounds each statement or query (0: DefaultRecordTimeout).
	RecordTimeout time.Duration
	// ValueCompare compares numbers and times in sqllogictest-rs results by
	// value rather than by text (see valuecompare.go): RisingWave's corpora
	// print decimals without trailing zeros and fractions of seconds padded
	// to milliseconds, where PostgreSQL prints the value's scale.
	ValueCompare bool
}

// Summary totals a run. Known failures are counted apart from Failed.
type Summary struct {
	Files         int
	Passed        int
	Failed        int
	Skipped       int
	KnownFailures int
}

// Failure is one failed record (or file-level problem, with Line 0).
type Failure struct {
	File    string
	Line    int
	Message string
}

func (f Failure) String() string {
	if f.Line == 0 {
		return fmt.Sprintf("%s: %s", f.File, f.Message)
	}
	return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.Message)
}

// FileResult is the outcome of one top-level file (with its includes).
type FileResult struct {
	Path          string
	Passed        int
	Failed        int
	Skipped       int
	KnownFailures int
	Failures      []Failure
	Elapsed       time.Duration
}

// Run runs the test files named by paths (directories are walked for
// *.test and *.slt files) and writes per-file results and failures to out.
// Its last line is exactly "N passed, N failed", with ", N skipped"
// appended when records were skipped. The error reports problems with the
// run itself (bad paths, unwritable report), not test failures.
func Run(ctx context.Context, opts Options, paths []string, out io.Writer) (Summary, error) {
	if opts.Driver == nil {
		return Summary{}, errors.New("sqllogictest: no driver")
	}
	if opts.Engines == nil {
		opts.Engines = defaultEngines
	}
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	if opts.RecordTimeout <= 0 {
		opts.RecordTimeout = DefaultRecordTimeout
	}
	files, err := ExpandPaths(paths)
	if err != nil {
		return Summary{}, err
	}
	results := make([]chan FileResult, len(files))
	for i := range results {
		results[i] = make(chan FileResult, 1)
	}
	work := make(chan int)
	for w := 0; w < min(opts.Jobs, max(len(files), 1)); w++ {
		go func() {
			for i := range work {
				results[i] <- runFile(ctx, &opts, files[i])
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range files {
			select {
			case work <- i:
			case <-ctx.Done():
				for j := i; j < len(files); j++ {
					results[j] <- FileResult{Path: files[j], Failed: 1,
						Failures: []Failure{{File: files[j], Message: "not run: " + ctx.Err().Error()}}}
				}
				return
			}
		}
	}()
	var sum Summary
	all := make([]FileResult, 0, len(files))
	for i := range files {
		fr := <-results[i]
		all = append(all, fr)
		for _, f := range fr.Failures {
			fmt.Fprintf(out, "FAIL %s\n", indentRest(f.String()))
		}
		fmt.Fprintf(out, "%s: %s (%s)\n", fr.Path, countsLine(fr.Passed, fr.Failed, fr.Skipped, fr.KnownFailures), fr.Elapsed.Round(time.Millisecond))
		sum.Files++
		sum.Passed += fr.Passed
		sum.Failed += fr.Failed
		sum.Skipped += fr.Skipped
		sum.KnownFailures += fr.KnownFailures
	}
	var reportErr error
	if opts.JUnitPath != "" {
		reportErr = writeJUnit(opts.JUnitPath, all)
	}
	if sum.KnownFailures > 0 {
		fmt.Fprintf(out, "%d known failures\n", sum.KnownFailures)
	}
	last := fmt.Sprintf("%d passed, %d failed", sum.Passed, sum.Failed)
	if sum.Skipped > 0 {
		last += fmt.Sprintf(", %d skipped", sum.Skipped)
	}
	fmt.Fprintln(out, last)
	return sum, reportErr
}

func countsLine(passed, failed, skipped, known int) string {
	s := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if skipped > 0 {
		s += fmt.Sprintf(", %d skipped", skipped)
	}
	if known > 0 {
		s += fmt.Sprintf(", %d known failures", known)
	}
	return s
}

// indentRest indents every line after the first, so multi-line failure
// details stay visually attached to their FAIL line.
func indentRest(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// ExpandPaths turns files and directories into a sorted list of test
// files; directories contribute their *.test and *.slt files (not
// *.slt.part, which are only included).
func ExpandPaths(paths []string) ([]string, error) {
	var files []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("sqllogictest: %w", err)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".test") || strings.HasSuffix(path, ".slt")) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("sqllogictest: walk %s: %w", p, err)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	if len(files) == 0 {
		return nil, errors.New("sqllogictest: no test files")
	}
	return files, nil
}

// fileRun is the state of one top-level file's run.
type fileRun struct {
	opts      *Options
	db        DB
	res       FileResult
	threshold int
	sortMode  SortMode // rs default from control sortmode
	labels    map[string]string
	halted    bool
	// executed holds "file:line" of every statement/query that ran, for
	// the known-failures staleness check; touched the files read.
	executed map[string]bool
	touched  []string
	// edits are --complete rewrites per file.
	edits map[*File][]edit
}

type edit struct {
	start, end int
	lines      []string
}

func runFile(ctx context.Context, opts *Options, path string) FileResult {
	start := time.Now()
	r := &fileRun{opts: opts, res: FileResult{Path: path}, labels: map[string]string{},
		executed: map[string]bool{}, edits: map[*File][]edit{}}
	f, err := ParseFile(path)
	if err != nil {
		r.fileFail(path, err.Error())
		return r.res
	}
	db, err := opts.Driver.Open(ctx)
	if err != nil {
		r.fileFail(path, "cannot open a session: "+err.Error())
		return r.res
	}
	r.db = db
	r.runRecords(ctx, f, 0)
	if err := db.Close(); err != nil {
		r.fileFail(path, "closing the session: "+err.Error())
	}
	if opts.Complete {
		for file, edits := range r.edits {
			if err := applyEdits(file, edits); err != nil {
				r.fileFail(file.Path, err.Error())
			}
		}
	}
	if opts.KnownFailures != nil {
		for _, fl := range opts.KnownFailures.stale(r.touched, r.executed) {
			r.res.Failed++
			r.res.Failures = append(r.res.Failures, fl)
		}
	}
	r.res.Elapsed = time.Since(start)
	return r.res
}

func (r *fileRun) fileFail(path, msg string) {
	r.res.Failed++
	r.res.Failures = append(r.res.Failures, Failure{File: path, Message: msg})
}

func (r *fileRun) runRecords(ctx context.Context, f *File, depth int) {
	r.touched = append(r.touched, f.Path)
	for i := range f.Records {
		if r.halted {
			return
		}
		if ctx.Err() != nil {
			r.fileFail(f.Path, "interrupted: "+ctx.Err().Error())
			r.halted = true
			return
		}
		rec := &f.Records[i]
		if rec.Kind != KindInvalid && rec.Skipped(r.opts.Engines) {
			if rec.Kind == KindStatement || rec.Kind == KindQuery {
				r.res.Skipped++
			}
			continue
		}
		switch rec.Kind {
		case KindHalt:
			r.halted = true
		case KindHashThreshold:
			r.threshold = rec.Threshold
		case KindSortMode:
			r.sortMode = rec.SortMode
		case KindSubstitution, KindSubtest:
			// Substitution of $__TEST_DIR__-style variables is not
			// supported: "control substitution" is accepted and ignored.
		case KindSleep:
			select {
			case <-time.After(rec.Duration):
			case <-ctx.Done():
			}
		case KindInclude:
			r.include(ctx, f, rec, depth)
		case KindInvalid:
			r.outcome(rec, false, rec.Problem+": "+rec.Arg)
		case KindStatement, KindQuery:
			r.executed[recordKey(rec.File, rec.Line)] = true
			var msg string
			if rec.Kind == KindStatement {
				msg = r.statement(ctx, rec)
			} else {
				msg = r.query(ctx, f, rec)
			}
			r.outcome(rec, msg == "", msg)
		}
	}
}

func (r *fileRun) include(ctx context.Context, from *File, rec *Record, depth int) {
	if depth >= maxIncludeDepth {
		r.outcome(rec, false, "includes nested too deeply (a cycle?)")
		return
	}
	matches, err := resolveInclude(from.Path, rec.Arg)
	if err != nil {
		r.outcome(rec, false, err.Error())
		return
	}
	for _, m := range matches {
		inc, err := ParseFile(m)
		if err != nil {
			r.outcome(rec, false, err.Error())
			return
		}
		r.runRecords(ctx, inc, depth+1)
		if r.halted {
			return
		}
	}
}

// outcome counts a record's result, applying the known-failures list.
func (r *fileRun) outcome(rec *Record, ok bool, msg string) {
	var entry *knownEntry
	if r.opts.KnownFailures != nil {
		entry = r.opts.KnownFailures.lookup(rec.File, rec.Line)
	}
	switch {
	case ok && entry == nil:
		r.res.Passed++
	case ok:
		r.res.Failed++
		r.res.Failures = append(r.res.Failures, Failure{File: rec.File, Line: rec.Line,
			Message: fmt.Sprintf("passes but is listed in the known-failures list (%s): remove it from the known-failures list", entry.where)})
	case entry != nil:
		r.res.KnownFailures++
	default:
		r.res.Failed++
		r.res.Failures = append(r.res.Failures, Failure{File: rec.File, Line: rec.Line, Message: msg})
	}
}

// exec runs one record's SQL under the per-record timeout.
func (r *fileRun) exec(ctx context.Context, sql string) (*Result, error) {
	rctx, cancel := context.WithTimeout(ctx, r.opts.RecordTimeout)
	defer cancel()
	res, err := r.db.Exec(rctx, sql)
	if err != nil && rctx.Err() != nil && ctx.Err() == nil {
		// Not wrapped: a timeout never satisfies an expected error.
		return nil, fmt.Errorf("timed out after %s (%v)", r.opts.RecordTimeout, err)
	}
	return res, err
}

// errorText describes an error for a failure message.
func errorText(err error) string {
	var de *DBError
	if errors.As(err, &de) && de.Code != "" {
		return fmt.Sprintf("%s (SQLSTATE %s)", de.Message, de.Code)
	}
	return err.Error()
}

// checkError reports why err does not satisfy rec's expected error ("" if
// it does).
func checkError(rec *Record, err error) string {
	var de *DBError
	if !errors.As(err, &de) {
		return "expected a statement error, got a failure to run it: " + err.Error()
	}
	if rec.HasErrorMessage && strings.TrimSpace(de.Message) != rec.ErrorMessage {
		return fmt.Sprintf("error message differs\nexpected: %s\nactual:   %s", rec.ErrorMessage, errorText(err))
	}
	if rec.ErrorRegex != nil && !rec.ErrorRegex.MatchString(de.Message) &&
		!rec.ErrorRegex.MatchString(de.Code) && !rec.ErrorRegex.MatchString(de.Message+"\n"+de.Detail) {
		return fmt.Sprintf("error does not match /%s/\nactual: %s", rec.ErrorRegex, errorText(err))
	}
	return ""
}

func (r *fileRun) statement(ctx context.Context, rec *Record) string {
	res, err := r.exec(ctx, rec.SQL)
	switch {
	case rec.ExpectError && err == nil:
		return "statement succeeded but an error was expected\n" + sqlSnippet(rec.SQL)
	case rec.ExpectError:
		if msg := checkError(rec, err); msg != "" {
			return msg + "\n" + sqlSnippet(rec.SQL)
		}
		return ""
	case err != nil:
		return "unexpected error: " + errorText(err) + "\n" + sqlSnippet(rec.SQL)
	case rec.HasCount && res.RowsAffected != rec.ExpectCount:
		return fmt.Sprintf("statement count: expected %d, got %d\n%s", rec.ExpectCount, res.RowsAffected, sqlSnippet(rec.SQL))
	}
	return ""
}

func (r *fileRun) query(ctx context.Context, f *File, rec *Record) string {
	res, err := r.exec(ctx, rec.SQL)
	switch {
	case rec.ExpectError && err == nil:
		return "query succeeded but an error was expected\n" + sqlSnippet(rec.SQL)
	case rec.ExpectError:
		if msg := checkError(rec, err); msg != "" {
			return msg + "\n" + sqlSnippet(rec.SQL)
		}
		return ""
	case err != nil:
		return "unexpected error: " + errorText(err) + "\n" + sqlSnippet(rec.SQL)
	}
	if f.Format == FormatSQLite {
		return r.compareSQLite(f, rec, res)
	}
	return r.compareRS(f, rec, res)
}

func (r *fileRun) compareSQLite(f *File, rec *Record, res *Result) string {
	if len(res.Columns) != len(rec.Types) {
		return fmt.Sprintf("expected %d columns (%s), got %d\n%s", len(rec.Types), rec.Types, len(res.Columns), sqlSnippet(rec.SQL))
	}
	mode := rec.SortMode
	vals := sqliteValues(res, rec.Types, mode)
	var problem string
	if rec.Label != "" {
		h := hashValues(vals)
		if prev, ok := r.labels[rec.Label]; ok && prev != h {
			problem = fmt.Sprintf("result differs from an earlier query labelled %s\n%s", rec.Label, sqlSnippet(rec.SQL))
		} else {
			r.labels[rec.Label] = h
		}
	}
	if r.opts.Complete {
		out := vals
		if r.threshold > 0 && len(vals) > r.threshold {
			out = []string{hashLine(vals)}
		}
		r.edits[f] = append(r.edits[f], edit{rec.ResultStart, rec.ResultEnd, append([]string{"----"}, out...)})
		return problem
	}
	if problem != "" {
		return problem
	}
	if n, hash, ok := rec.expectedHash(); ok {
		if got := hashValues(vals); n != len(vals) || got != hash {
			return fmt.Sprintf("result hash differs\nexpected: %s\nactual:   %s\n%s", rec.Results[0], hashLine(vals), sqlSnippet(rec.SQL))
		}
		return ""
	}
	if !equalStrings(vals, rec.Results) {
		return "result differs\n" + sqlSnippet(rec.SQL) + "\n" + diffText(rec.Results, vals)
	}
	return ""
}

func (r *fileRun) compareRS(f *File, rec *Record, res *Result) string {
	mode := rec.SortMode
	if mode == SortDefault {
		mode = r.sortMode
	}
	lines := rsRows(res, mode)
	if r.opts.Complete {
		out := lines
		if r.threshold > 0 && countValues(res) > r.threshold {
			out = []string{hashLine(flatten(lines))}
		}
		r.edits[f] = append(r.edits[f], edit{rec.ResultStart, rec.ResultEnd, append([]string{"----"}, out...)})
		return ""
	}
	if n, hash, ok := rec.expectedHash(); ok {
		vals := flatten(lines)
		if got := hashValues(vals); n != len(vals) || got != hash {
			return fmt.Sprintf("result hash differs\nexpected: %s\nactual:   %s\n%s", rec.Results[0], hashLine(vals), sqlSnippet(rec.SQL))
		}
		return ""
	}
	norm := normalizeLine
	if r.opts.ValueCompare {
		norm = canonValuesLine
	}
	want := make([]string, len(rec.Results))
	for i, l := range rec.Results {
		want[i] = norm(l)
	}
	got := make([]string, len(lines))
	for i, l := range lines {
		got[i] = norm(l)
	}
	switch mode {
	case RowSort:
		sort.Strings(want)
		sort.Strings(got)
	case ValueSort:
		want, got = flatten(want), flatten(got)
		sort.Strings(want)
		sort.Strings(got)
	}
	if !equalStrings(want, got) {
		return "result differs\n" + sqlSnippet(rec.SQL) + "\n" + diffText(rec.Results, lines)
	}
	return ""
}

func countValues(res *Result) int {
	n := 0
	for _, row := range res.Rows {
		n += len(row)
	}
	return n
}

// flatten splits row lines into whitespace-separated values.
func flatten(lines []string) []string {
	var out []string
	for _, l := range lines {
		out = append(out, strings.Fields(l)...)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

const maxShownLines = 20

func sqlSnippet(sql string) string {
	const max = 400
	if len(sql) > max {
		sql = sql[:max] + "…"
	}
	return "sql: " + sql
}

// diffText shows expected and actual results side by side (truncated).
func diffText(want, got []string) string {
	var b strings.Builder
	show := func(title string, lines []string) {
		fmt.Fprintf(&b, "%s (%d lines):\n", title, len(lines))
		for i, l := range lines {
			if i == maxShownLines {
				fmt.Fprintf(&b, "  … %d more\n", len(lines)-i)
				break
			}
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	show("expected", want)
	show("actual", got)
	return strings.TrimRight(b.String(), "\n")
}

func recordKey(file string, line int) string { return fmt.Sprintf("%s:%d", file, line) }
