package ops

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/sabotsql/sabotsql/exec/kernels"
	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/sql/types"
)

func TestTranslateRegex(t *testing.T) {
	for _, c := range []struct {
		in, out string
		fold    bool
	}{
		{`abc`, `(?s)abc`, false},
		{`\ybar\Y`, `(?s)\bbar\B`, false},
		{`\mword\M`, `(?s)\bword\b`, false},
		{`[[:<:]]x[[:>:]]`, `(?s)\bx\b`, false},
		{`a\Z`, `(?s)a\z`, false},
		{`[]a]`, `(?s)[\]a]`, false},
		{`[^]a]`, `(?s)[^\]a]`, false},
		{`[[:alpha:]A]`, `(?s)[[:alpha:]a]`, true},
		{`AB\D{2,3}`, `(?s)ab\D{2,3}`, true},
	} {
		got, err := translateRegex(c.in, c.fold)
		require.NoError(t, err, c.in)
		require.Equal(t, c.out, got, c.in)
	}
	_, err := translateRegex(`(a)\1`, false)
	require.Equal(t, pgerror.FeatureNotSupported, pgerror.CodeOf(err))
	for _, la := range []string{`a(?=b)`, `a(?!b)`, `(?<=a)b`} {
		_, err := compileRegex(la, false)
		require.Equal(t, pgerror.FeatureNotSupported, pgerror.CodeOf(err), la)
	}
	for _, bad := range []string{`a{2`, `a{x}`, `a{3,2}`, `a{256}`} {
		_, err := compileRegex(bad, false)
		require.Equal(t, pgerror.InvalidRegularExpression, pgerror.CodeOf(err), bad)
	}
}

// likeOracle translates a LIKE pattern (default escape) into an anchored
// regular expression: an independent implementation to check the matcher.
func likeOracle(p string) (*regexp.Regexp, bool) {
	var sb strings.Builder
	sb.WriteString(`(?s)\A`)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 >= len(p) {
				return nil, false
			}
			i++
			sb.WriteString(regexp.QuoteMeta(p[i : i+1]))
		case '%':
			sb.WriteString(`.*`)
		case '_':
			sb.WriteString(`.`)
		default:
			sb.WriteString(regexp.QuoteMeta(p[i : i+1]))
		}
	}
	sb.WriteString(`\z`)
	return regexp.MustCompile(sb.String()), true
}

func TestLikeMatchesOracle(t *testing.T) {
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	gen := func(alpha string, n int) string {
		b := make([]byte, rng.IntN(n+1))
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for i := 0; i < 20000; i++ {
		p := gen(`ab%_\`, 6)
		s := gen(`ab%_\`, 8)
		oracle, ok := likeOracle(p)
		lp, err := compileLike(p, false, false)
		require.NoError(t, err)
		got, merr := lp.match(s)
		if !ok {
			// A trailing escape errors only if matching reaches it.
			if merr != nil {
				require.Equal(t, pgerror.InvalidEscapeSequence, pgerror.CodeOf(merr))
			}
			continue
		}
		require.NoError(t, merr, "pattern %q", p)
		require.Equal(t, oracle.MatchString(s), got, "seed %d: %q LIKE %q", seed, s, p)
	}
}

func TestLikeEscapeRoundTrip(t *testing.T) {
	// Rewriting with an explicit escape then matching with the default
	// escape behaves like the explicit-escape pattern.
	for _, c := range []struct {
		s, p, esc string
		want      bool
	}{
		{"50%", "50#%", "#", true},
		{"500", "50#%", "#", false},
		{`a\b`, `a\b`, "", true},
		{"a#b", "a##b", "#", true},
		{"ab", "a%", "", true},
	} {
		p, err := likeEscape(c.p, c.esc)
		require.NoError(t, err)
		lp, err := compileLike(p, false, false)
		require.NoError(t, err)
		got, err := lp.match(c.s)
		require.NoError(t, err)
		require.Equal(t, c.want, got, "%q LIKE %q ESCAPE %q", c.s, c.p, c.esc)
	}
}

// TestPatternCachesConcurrent shares one registry between goroutines using
// many distinct patterns (run with -race).
func TestPatternCachesConcurrent(t *testing.T) {
	r := newRegistry()
	like := lookup(r, "~~", []types.T{types.TextT, types.TextT})
	re := lookup(r, "~", []types.T{types.TextT, types.TextT})
	ctx := &kernels.EvalContext{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 600; i++ {
				p := "x" + strings.Repeat("a", (i+g)%300) + "%"
				v, err := like.Eval(ctx, []types.Datum{"x" + strings.Repeat("a", 400), p})
				if err != nil || v != true {
					errs <- err
					return
				}
				v, err = re.Eval(ctx, []types.Datum{"xa", "^x" + strings.Repeat("a?", (i+g)%50)})
				if err != nil || v != true {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent evaluation failed: %v", err)
	}
}

// TestConcatOverloadOrder pins that exact || overloads are registered
// before the polymorphic ones (the planner breaks ties by order).
func TestConcatOverloadOrder(t *testing.T) {
	r := newRegistry()
	pos := map[string]int{}
	for i, f := range r.Scalars("||") {
		pos[argTypes(f)] = i
	}
	require.Less(t, pos["text,text"], pos["text,anyelement"])
	require.Less(t, pos["bpchar,text"], pos["anyelement,text"])
	require.Less(t, pos["text,float4"], pos["text,anyelement"])
}

// TestNoDuplicateOverloads: two overloads with the same name and argument
// types would make resolution depend on registration order.
func TestNoDuplicateOverloads(t *testing.T) {
	r := newRegistry()
	total := 0
	for _, name := range r.ScalarNames() {
		seen := map[string]bool{}
		for _, f := range r.Scalars(name) {
			key := argTypes(f)
			require.False(t, seen[key], "%s(%s) registered twice", name, key)
			seen[key] = true
			require.NotNil(t, f.Eval, "%s(%s) has no Eval", name, key)
			total++
		}
	}
	t.Logf("%d overloads under %d names", total, len(r.ScalarNames()))
}
