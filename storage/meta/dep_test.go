package meta

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestImportDirection keeps storage below SQL: of this module's packages the
// store imports only pgerror (for SQLSTATEs), never the parser, planner,
// catalog or executor.
func TestImportDirection(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	const module = "github.com/sabotsql/sabotsql/"
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range af.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			if strings.HasPrefix(path, module) {
				require.Equal(t, module+"sql/pgerror", path, "%s imports %s", f, path)
			}
		}
	}
}
