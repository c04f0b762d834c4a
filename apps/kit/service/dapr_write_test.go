package service

import (
	"context"
	"errors"
	"testing"

	dapr "github.com/dapr/go-sdk/client"
	"github.com/stretchr/testify/assert"
)

// lostAnswerState is a state store whose every save fails as a lost answer would: the
// value it holds is what the test put there, whatever the save wrote.
type lostAnswerState struct{ stored []byte }

func (s *lostAnswerState) GetState(context.Context, string, string, map[string]string) (*dapr.StateItem, error) {
	return &dapr.StateItem{Value: s.stored}, nil
}

func (s *lostAnswerState) SaveState(context.Context, string, string, []byte, map[string]string, ...dapr.StateOption) error {
	return errors.New("rpc error: code = Aborted desc = possible etag mismatch")
}

// FirstWrite settles a failed write by the value read back; Insert only by whether the
// key is there, so a fact kept by an earlier delivery is never mistaken for a new one.
func TestFirstWriteAndInsertSettleAFailedWrite(t *testing.T) {
	ctx := context.Background()
	mine := []byte(`{"a":1,"b":2}`)
	tests := []struct {
		name                  string
		stored                []byte
		wantFirst, wantInsert error
	}{
		{"our own value is there (JSON reformatted)", []byte(`{"b":2, "a":1}`), nil, ErrKeyExists},
		{"another value is there", []byte(`{"a":9}`), ErrKeyExists, ErrKeyExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &lostAnswerState{stored: tc.stored}
			assert.Equal(t, tc.wantFirst, FirstWrite(ctx, s, "st", "k", mine, nil))
			assert.Equal(t, tc.wantInsert, Insert(ctx, s, "st", "k", mine, nil))
		})
	}
	t.Run("nothing is there: the write's own error", func(t *testing.T) {
		s := &lostAnswerState{}
		for _, err := range []error{FirstWrite(ctx, s, "st", "k", mine, nil), Insert(ctx, s, "st", "k", mine, nil)} {
			assert.Error(t, err)
			assert.NotErrorIs(t, err, ErrKeyExists)
		}
	})
}
