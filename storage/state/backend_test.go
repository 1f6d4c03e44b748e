package state_test

import (
	"testing"

	"github.com/sabotsql/sabotsql/sql/pgerror"
	"github.com/sabotsql/sabotsql/storage/state"
	"github.com/stretchr/testify/require"
)

func TestParseBackend(t *testing.T) {
	b, err := state.ParseBackend(" Columnar ")
	require.NoError(t, err)
	require.Equal(t, state.BackendColumnar, b)
	_, err = state.ParseBackend("rocksdb")
	require.Equal(t, pgerror.InvalidParameterValue, pgerror.CodeOf(err))
}
