package sqllogictest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// corpusDir returns ../shared/corpora relative to the repository root (the
// directory holding go.mod, found by walking up from the working dir).
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, parent, dir, "go.mod not found above the working directory")
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpora")
	_, err = os.Stat(c)
	require.NoError(t, err, "the shared corpora must sit beside the repository (../shared/corpora)")
	return c
}

// writeFile writes content to name under dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	return p
}
