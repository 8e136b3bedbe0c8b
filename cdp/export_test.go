package cdp_test

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/cdp"
)

func TestJobIDsAreDeterministic(t *testing.T) {
	tests := []struct {
		name       string
		a, b       [4]string
		wantSameID bool
	}{
		{"same request", [4]string{"acme", "seg_1@1", "tag_1", ""}, [4]string{"acme", "seg_1@1", "tag_1", ""}, true},
		{"another tenant", [4]string{"acme", "seg_1@1", "tag_1", ""}, [4]string{"globex", "seg_1@1", "tag_1", ""}, false},
		{"a new version", [4]string{"acme", "seg_1@1", "tag_1", ""}, [4]string{"acme", "seg_1@2", "tag_1", ""}, false},
		{"another tag", [4]string{"acme", "seg_1@1", "tag_1", ""}, [4]string{"acme", "seg_1@1", "tag_2", ""}, false},
		{"an idempotency key", [4]string{"acme", "seg_1@1", "tag_1", ""}, [4]string{"acme", "seg_1@1", "tag_1", "k"}, false},
		{"fields do not run together", [4]string{"acme", "seg_1@1", "tag_1", ""}, [4]string{"acme", "seg_1@1tag_1", "", ""}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := cdp.TagJobID(tt.a[0], tt.a[1], tt.a[2], tt.a[3])
			b := cdp.TagJobID(tt.b[0], tt.b[1], tt.b[2], tt.b[3])
			require.Equal(t, tt.wantSameID, a == b)
		})
	}
	require.Equal(t, cdp.TagEventID("job_1", "c1", "t1"), cdp.TagEventID("job_1", "c1", "t1"))
	require.NotEqual(t, cdp.TagEventID("job_1", "c1", "t1"), cdp.TagEventID("job_2", "c1", "t1"))
	require.NotEqual(t, cdp.TagEventID("job_1", "c1", "t1"), cdp.TagEventID("job_1", "c2", "t1"))
}

func benchMembers(n int) []cdp.SegmentMember {
	at := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	out := make([]cdp.SegmentMember, n)
	for i := range out {
		out[i] = cdp.SegmentMember{ContactID: fmt.Sprintf("wm%012d", i), Name: "客户 " + fmt.Sprint(i), Channel: "ad",
			MessagesIn: uint64(i % 50), MessagesOut: uint64(i % 30), FirstEventAt: &at, LastEventAt: &at,
			Staff: []string{"s0001"}, TagIDs: []string{"t001", "t002", "t003", "t004", "t005", "t006"}}
	}
	return out
}

// BenchmarkMemberWriter is the encoding cost of an export per member.
func BenchmarkMemberWriter(b *testing.B) {
	members := benchMembers(4096)
	for _, format := range []string{"csv", "parquet"} {
		b.Run(format, func(b *testing.B) {
			w, err := cdp.NewMemberWriter(format, io.Discard)
			require.NoError(b, err)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				require.NoError(b, w.Write(&members[i%len(members)]))
			}
			require.NoError(b, w.Close())
		})
	}
}

func TestMemberWriterFormats(t *testing.T) {
	_, err := cdp.NewMemberWriter("xlsx", io.Discard)
	require.Error(t, err)
	for _, format := range []string{"csv", "parquet"} {
		w, err := cdp.NewMemberWriter(format, io.Discard)
		require.NoError(t, err)
		for _, m := range benchMembers(40000) {
			require.NoError(t, w.Write(&m))
		}
		require.NoError(t, w.Close(), format)
	}
}
