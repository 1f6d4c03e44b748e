package pgwire

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencies keeps pgwire on the engine contract: of SabotSQL's own
// packages it may import only api, sql/types and sql/pgerror.
func TestDependencies(t *testing.T) {
	allowed := map[string]bool{
		"github.com/sabotsql/sabotsql/api":         true,
		"github.com/sabotsql/sabotsql/sql/types":   true,
		"github.com/sabotsql/sabotsql/sql/pgerror": true,
	}
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, f := range files {
		parsed, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range parsed.Imports {
			path, err := strconv.Unquote(imp.Path.Value)
			require.NoError(t, err)
			if strings.HasPrefix(path, "github.com/sabotsql/sabotsql/") {
				require.True(t, allowed[path], "%s imports %s", f, path)
			}
		}
	}
}
