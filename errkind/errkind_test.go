package errkind_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/errkind"
)

type fieldError struct{ field string }

func (e *fieldError) Error() string { return e.field + ": bad" }
func (e *fieldError) Describe() errkind.Error {
	return errkind.Error{Kind: errkind.Validation, Field: e.field, Public: "bad"}
}

func TestOf(t *testing.T) {
	gone := errkind.New(errkind.NotFound, "gone")
	down := errors.New("broker down")
	cases := []struct {
		name  string
		err   error
		kind  errkind.Kind
		field string
		ok    bool
	}{
		{"sentinel", gone, errkind.NotFound, "", true},
		{"wrapped sentinel", fmt.Errorf("get c1: %w", gone), errkind.NotFound, "", true},
		{"described type", fmt.Errorf("save: %w", &fieldError{"name"}), errkind.Validation, "name", true},
		{"first of several", fmt.Errorf("%w: %w", down, gone), errkind.NotFound, "", true},
		{"outermost wins", fmt.Errorf("%w", &errkind.Error{Kind: errkind.Conflict, Msg: "x"}), errkind.Conflict, "", true},
		{"not wrapped (%v)", fmt.Errorf("get c1: %v", gone), errkind.Internal, "", false},
		{"plain", down, errkind.Internal, "", false},
		{"nil", nil, errkind.Internal, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, ok := errkind.Of(tc.err)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.kind, k.Kind)
			require.Equal(t, tc.field, k.Field)
			require.Equal(t, tc.ok && tc.kind == errkind.NotFound, errkind.Is(tc.err, errkind.NotFound))
		})
	}
	require.ErrorIs(t, fmt.Errorf("get: %w", gone), gone, "errors.Is still matches a sentinel")
}
