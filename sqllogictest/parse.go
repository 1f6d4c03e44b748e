package sqllogictest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// File is a parsed test file. Lines keep the file's text (without line
// terminators) so --complete can rewrite result blocks in place.
type File struct {
	Path    string
	Format  Format
	Lines   []string
	CRLF    bool // the file used CRLF line endings
	Records []Record
}

// ParseFile reads and parses path, choosing the format from its name and
// contents (see DetectFormat).
func ParseFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sqllogictest: %w", err)
	}
	return Parse(path, data, DetectFormat(path, data)), nil
}

// DetectFormat picks the format of a file: .test is sqlite's, .slt and
// .slt.part are sqllogictest-rs; anything else is sniffed from directives
// only one of the formats has, defaulting to sqllogictest-rs.
func DetectFormat(path string, data []byte) Format {
	switch {
	case strings.HasSuffix(path, ".test"):
		return FormatSQLite
	case strings.HasSuffix(path, ".slt"), strings.HasSuffix(path, ".slt.part"):
		return FormatRS
	}
	for _, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimRight(string(raw), "\r")
		switch {
		case hashLineRE.MatchString(line), strings.HasPrefix(line, "hash-threshold"):
			return FormatSQLite
		case strings.HasPrefix(line, "include "), strings.HasPrefix(line, "statement count"),
			strings.HasPrefix(line, "statement error "), strings.HasPrefix(line, "query error"),
			strings.HasPrefix(line, "control "), strings.HasPrefix(line, "subtest "),
			strings.HasPrefix(line, "sleep "):
			return FormatRS
		}
	}
	return FormatRS
}

// Parse parses data (the contents of path) in the given format. It never
// fails: malformed records become KindInvalid records that the runner
// reports as failures.
func Parse(path string, data []byte, format Format) *File {
	text := string(data)
	f := &File{Path: path, Format: format, CRLF: strings.Contains(text, "\r\n")}
	text = strings.TrimSuffix(text, "\n")
	if text != "" || len(data) > 0 {
		f.Lines = strings.Split(text, "\n")
	}
	for i, l := range f.Lines {
		f.Lines[i] = strings.TrimSuffix(l, "\r")
	}
	p := parser{f: f, lines: f.Lines}
	p.run()
	return f
}

type parser struct {
	f     *File
	lines []string
	i     int
	conds []Condition
}

func isBlank(s string) bool   { return strings.TrimSpace(s) == "" }
func isComment(s string) bool { return strings.HasPrefix(s, "#") }

// headerTokens splits a directive line, dropping a trailing "# comment".
func headerTokens(line string) []string {
	toks := strings.Fields(line)
	for j, t := range toks {
		if strings.HasPrefix(t, "#") {
			return toks[:j]
		}
	}
	return toks
}

func (p *parser) run() {
	for p.i < len(p.lines) {
		line := p.lines[p.i]
		if isBlank(line) || isComment(line) {
			p.i++
			continue
		}
		p.directive(line)
	}
}

func (p *parser) add(r Record) {
	r.File = p.f.Path
	// Conditions prefix any record, "onlyif mssql" + "halt" included.
	r.Conditions = p.conds
	p.conds = nil
	p.f.Records = append(p.f.Records, r)
}

// invalid records a malformed record and skips to the end of it.
func (p *parser) invalid(line int, text, format string, args ...any) {
	p.add(Record{Kind: KindInvalid, Line: line + 1, Arg: text, Problem: fmt.Sprintf(format, args...)})
	for p.i < len(p.lines) && !isBlank(p.lines[p.i]) {
		p.i++
	}
}

func (p *parser) directive(line string) {
	start := p.i
	toks := headerTokens(line)
	rs := p.f.Format == FormatRS
	if len(toks) == 0 {
		p.i++
		p.invalid(start, line, "unknown directive %q", line)
		return
	}
	rest := strings.TrimSpace(strings.TrimPrefix(line, toks[0]))
	switch toks[0] {
	case "skipif", "onlyif":
		p.i++
		if len(toks) < 2 {
			p.invalid(start, line, "%s needs an engine name", toks[0])
			return
		}
		p.conds = append(p.conds, Condition{SkipIf: toks[0] == "skipif", Engine: toks[1]})
	case "statement":
		p.i++
		p.statement(start, line, toks, rest)
	case "query":
		p.i++
		p.query(start, line, toks, rest)
	case "hash-threshold":
		p.i++
		n, err := -1, error(nil)
		if len(toks) == 2 {
			n, err = strconv.Atoi(toks[1])
		}
		if err != nil || n < 0 {
			p.invalid(start, line, "hash-threshold needs a non-negative integer")
			return
		}
		p.add(Record{Kind: KindHashThreshold, Line: start + 1, Threshold: n})
	case "halt":
		p.i++
		p.add(Record{Kind: KindHalt, Line: start + 1})
	case "include", "sleep", "control", "subtest":
		p.i++
		if !rs {
			p.invalid(start, line, "directive %q is not part of the sqlite format", toks[0])
			return
		}
		p.rsControl(start, line, toks, rest)
	default:
		p.i++
		p.invalid(start, line, "unknown directive %q", toks[0])
	}
}

func (p *parser) rsControl(start int, line string, toks []string, rest string) {
	switch toks[0] {
	case "include":
		if rest == "" {
			p.invalid(start, line, "include needs a path")
			return
		}
		p.add(Record{Kind: KindInclude, Line: start + 1, Arg: rest})
	case "sleep":
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			p.invalid(start, line, "bad sleep duration %q", rest)
			return
		}
		p.add(Record{Kind: KindSleep, Line: start + 1, Duration: d})
	case "subtest":
		p.add(Record{Kind: KindSubtest, Line: start + 1, Arg: rest})
	case "control":
		if len(toks) != 3 {
			p.invalid(start, line, "control needs a name and a value")
			return
		}
		switch toks[1] {
		case "sortmode":
			m, ok := parseSortMode(toks[2])
			if !ok {
				p.invalid(start, line, "unknown sort mode %q", toks[2])
				return
			}
			p.add(Record{Kind: KindSortMode, Line: start + 1, SortMode: m})
		case "substitution":
			if toks[2] != "on" && toks[2] != "off" {
				p.invalid(start, line, "control substitution takes on or off")
				return
			}
			p.add(Record{Kind: KindSubstitution, Line: start + 1, Arg: toks[2]})
		default:
			p.invalid(start, line, "unknown control %q", toks[1])
		}
	}
}

// sqlLines collects SQL lines up to a blank line, EOF or a "----" line
// (left unconsumed). Comment lines are dropped.
func (p *parser) sqlLines() string {
	var b []string
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if isBlank(l) || l == "----" {
			break
		}
		p.i++
		if isComment(l) {
			continue
		}
		b = append(b, l)
	}
	return strings.Join(b, "\n")
}

// resultLines reads the lines after "----" up to a blank line or EOF.
func (p *parser) resultLines() []string {
	var out []string
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if isBlank(l) {
			break
		}
		p.i++
		if p.f.Format == FormatSQLite && isComment(l) {
			continue
		}
		out = append(out, l)
	}
	return out
}

// errorBlock reads a multi-line expected error after "----": it ends at two
// consecutive blank lines or EOF.
func (p *parser) errorBlock() string {
	var out []string
	for p.i < len(p.lines) {
		l := p.lines[p.i]
		if isBlank(l) && (p.i+1 >= len(p.lines) || isBlank(p.lines[p.i+1])) {
			break
		}
		out = append(out, l)
		p.i++
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func (p *parser) compileErrorRegex(start int, line, pattern string, r *Record) bool {
	if pattern == "" {
		return true
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		p.invalid(start, line, "bad error regex %q: %v", pattern, err)
		return false
	}
	r.ErrorRegex = re
	return true
}

func (p *parser) statement(start int, line string, toks []string, rest string) {
	r := Record{Kind: KindStatement, Line: start + 1}
	rs := p.f.Format == FormatRS
	switch {
	case len(toks) == 2 && toks[1] == "ok":
	case len(toks) >= 2 && toks[1] == "error":
		r.ExpectError = true
		if rs {
			pattern := strings.TrimSpace(strings.TrimPrefix(rest, "error"))
			if !p.compileErrorRegex(start, line, pattern, &r) {
				return
			}
		} else if len(toks) > 2 {
			p.invalid(start, line, "statement error takes no argument in the sqlite format")
			return
		}
	case rs && len(toks) == 3 && toks[1] == "count":
		n, err := strconv.ParseInt(toks[2], 10, 64)
		if err != nil || n < 0 {
			p.invalid(start, line, "statement count needs a non-negative integer")
			return
		}
		r.HasCount, r.ExpectCount = true, n
	default:
		p.invalid(start, line, "unknown statement form %q", line)
		return
	}
	r.SQL = p.sqlLines()
	if r.SQL == "" {
		p.invalid(start, line, "statement without SQL")
		return
	}
	r.ResultStart, r.ResultEnd = p.i, p.i
	if p.i < len(p.lines) && p.lines[p.i] == "----" {
		if !rs || !r.ExpectError {
			p.invalid(start, line, "a statement has no result block (use query)")
			return
		}
		p.i++
		r.HasErrorMessage = true
		r.ErrorMessage = p.errorBlock()
		r.ResultEnd = p.i
	}
	p.add(r)
}

func (p *parser) query(start int, line string, toks []string, rest string) {
	r := Record{Kind: KindQuery, Line: start + 1}
	rs := p.f.Format == FormatRS
	if rs && len(toks) >= 2 && toks[1] == "error" {
		r.ExpectError = true
		pattern := strings.TrimSpace(strings.TrimPrefix(rest, "error"))
		if !p.compileErrorRegex(start, line, pattern, &r) {
			return
		}
	} else {
		if len(toks) < 2 && !rs {
			p.invalid(start, line, "query needs a type string")
			return
		}
		if len(toks) >= 2 {
			r.Types = toks[1]
			for _, c := range r.Types {
				if !rs && c != 'I' && c != 'T' && c != 'R' {
					p.invalid(start, line, "bad column type %q in %q (want I, T or R)", c, r.Types)
					return
				}
				if rs && !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
					p.invalid(start, line, "bad column type %q in %q", c, r.Types)
					return
				}
			}
		}
		if len(toks) >= 3 {
			m, ok := parseSortMode(toks[2])
			if !ok {
				p.invalid(start, line, "unknown sort mode %q", toks[2])
				return
			}
			r.SortMode = m
		}
		if len(toks) >= 4 {
			r.Label = toks[3]
		}
		if len(toks) > 4 {
			p.invalid(start, line, "unexpected %q after the query label", strings.Join(toks[4:], " "))
			return
		}
	}
	r.SQL = p.sqlLines()
	if r.SQL == "" {
		p.invalid(start, line, "query without SQL")
		return
	}
	r.ResultStart, r.ResultEnd = p.i, p.i
	if p.i < len(p.lines) && p.lines[p.i] == "----" {
		p.i++
		if r.ExpectError {
			r.HasErrorMessage = true
			r.ErrorMessage = p.errorBlock()
		} else {
			r.Results = p.resultLines()
		}
		r.ResultEnd = p.i
	}
	p.add(r)
}

// resolveInclude expands an include pattern relative to the including
// file's directory.
func resolveInclude(from, pattern string) ([]string, error) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(from), pattern)
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("bad include pattern %q: %w", pattern, err)
	}
	if len(matches) == 0 {
		return nil, fmt.Errorf("include %q matches no file", pattern)
	}
	return matches, nil
}
