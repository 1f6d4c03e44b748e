package sqllogictest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// KnownFailures is the checked-in list of records expected to fail, one
// "path:line reason" per line ('#' comments and blank lines ignored). The
// path is matched against a record's file as a suffix on a path-component
// boundary (so "select1.test:42" matches "../shared/corpora/sqlite-slt/
// select1.test" line 42); line is the record's directive line.
//
// The list is enforced both ways: a listed record that fails counts as a
// known failure, while a listed record that passes, or an entry for a file
// that ran but naming no record that ran, is a failure, so the list can
// only shrink.
type KnownFailures struct {
	source  string
	entries []knownEntry
	byLine  map[int][]int // line → indexes into entries
}

type knownEntry struct {
	path   string // cleaned, slash-separated
	line   int
	reason string
	where  string // "listfile:n"
}

// LoadKnownFailures reads a known-failures file.
func LoadKnownFailures(path string) (*KnownFailures, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sqllogictest: known failures: %w", err)
	}
	defer f.Close()
	return ParseKnownFailures(path, f)
}

// ParseKnownFailures parses a known-failures list read from r; source names
// it in messages.
func ParseKnownFailures(source string, r io.Reader) (*KnownFailures, error) {
	kf := &KnownFailures{source: source, byLine: map[int][]int{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		loc, reason, _ := strings.Cut(line, " ")
		colon := strings.LastIndexByte(loc, ':')
		if colon <= 0 {
			return nil, fmt.Errorf("sqllogictest: %s:%d: want \"path:line reason\", got %q", source, n, line)
		}
		ln, err := strconv.Atoi(loc[colon+1:])
		if err != nil || ln <= 0 {
			return nil, fmt.Errorf("sqllogictest: %s:%d: bad line number in %q", source, n, loc)
		}
		kf.byLine[ln] = append(kf.byLine[ln], len(kf.entries))
		kf.entries = append(kf.entries, knownEntry{
			path:   entryPath(loc[:colon]),
			line:   ln,
			reason: strings.TrimSpace(reason),
			where:  fmt.Sprintf("%s:%d", source, n),
		})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("sqllogictest: known failures: %w", err)
	}
	return kf, nil
}

// entryPath cleans a listed path for suffix matching: slash-separated,
// without leading "../" (a list may name files relative to itself).
func entryPath(p string) string {
	p = filepath.ToSlash(filepath.Clean(p))
	for strings.HasPrefix(p, "../") {
		p = p[3:]
	}
	return p
}

// Len is the number of entries.
func (kf *KnownFailures) Len() int { return len(kf.entries) }

// pathMatches reports whether the entry path names file.
func pathMatches(entry, file string) bool {
	f := filepath.ToSlash(filepath.Clean(file))
	if f == entry || strings.HasSuffix(f, "/"+entry) {
		return true
	}
	if abs, err := filepath.Abs(file); err == nil {
		a := filepath.ToSlash(abs)
		return a == entry || strings.HasSuffix(a, "/"+strings.TrimPrefix(entry, "/"))
	}
	return false
}

func (kf *KnownFailures) lookup(file string, line int) *knownEntry {
	for _, i := range kf.byLine[line] {
		if pathMatches(kf.entries[i].path, file) {
			return &kf.entries[i]
		}
	}
	return nil
}

// stale returns failures for entries naming one of the files read whose
// line is not a record that ran.
func (kf *KnownFailures) stale(files []string, executed map[string]bool) []Failure {
	var out []Failure
	seen := map[string]bool{}
	for _, file := range files {
		if seen[file] {
			continue
		}
		seen[file] = true
		for _, e := range kf.entries {
			if pathMatches(e.path, file) && !executed[recordKey(file, e.line)] {
				out = append(out, Failure{File: file, Line: e.line,
					Message: fmt.Sprintf("known-failures entry (%s) names no statement or query that ran: remove it from the known-failures list", e.where)})
			}
		}
	}
	return out
}
