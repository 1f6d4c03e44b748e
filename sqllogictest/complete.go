package sqllogictest

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// applyEdits rewrites f's result blocks (--complete) and writes the file,
// keeping its line endings.
func applyEdits(f *File, edits []edit) error {
	if len(edits) == 0 {
		return nil
	}
	// A file included twice in one run yields the same edit twice: keep
	// one per range (the last), applied bottom-up.
	byStart := map[int]edit{}
	for _, e := range edits {
		byStart[e.start] = e
	}
	edits = edits[:0]
	for _, e := range byStart {
		edits = append(edits, e)
	}
	sort.Slice(edits, func(a, b int) bool { return edits[a].start > edits[b].start })
	lines := append([]string(nil), f.Lines...)
	for _, e := range edits {
		if e.start < 0 || e.end > len(lines) || e.start > e.end {
			return fmt.Errorf("sqllogictest: complete %s: bad edit range %d..%d", f.Path, e.start, e.end)
		}
		tail := append([]string(nil), lines[e.end:]...)
		lines = append(append(lines[:e.start], e.lines...), tail...)
	}
	eol := "\n"
	if f.CRLF {
		eol = "\r\n"
	}
	text := strings.Join(lines, eol) + eol
	fi, err := os.Stat(f.Path)
	if err != nil {
		return fmt.Errorf("sqllogictest: complete: %w", err)
	}
	if err := os.WriteFile(f.Path, []byte(text), fi.Mode().Perm()); err != nil {
		return fmt.Errorf("sqllogictest: complete: %w", err)
	}
	return nil
}
