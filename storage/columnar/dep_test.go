package columnar

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDependencies keeps storage below SQL: storage/columnar imports only
// arrow, the standard library, testing helpers, sql/pgerror, storage/state,
// storage/meta (manifests) and internal/hugepage (a leaf over syscall).
func TestDependencies(t *testing.T) {
	const mod = "github.com/sabotsql/sabotsql/"
	allowed := []string{mod + "storage/state", mod + "storage/columnar", mod + "storage/meta", mod + "sql/pgerror", mod + "internal/hugepage"}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, mod) {
				continue
			}
			ok := false
			for _, a := range allowed {
				ok = ok || p == a || strings.HasPrefix(p, a+"/")
			}
			require.True(t, ok, "%s imports %s", path, p)
		}
		return nil
	})
	require.NoError(t, err)
}
