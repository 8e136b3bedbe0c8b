package cdp

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolveRules(t *testing.T) {
	hub := func(value string, n int) []Link {
		var out []Link
		for i := range n {
			out = append(out, Link{fmt.Sprintf("h%03d", i), value})
		}
		return out
	}
	chain := func(n int) []Link {
		var out []Link
		for i := range n {
			out = append(out, Link{fmt.Sprintf("c%03d", i), fmt.Sprintf("u%03d", i)}, Link{fmt.Sprintf("c%03d", i+1), fmt.Sprintf("u%03d", i)})
		}
		return out
	}
	tests := []struct {
		name  string
		links []Link
		id    string
		want  Person
	}{
		{name: "a contact and its unionid", links: []Link{{"wm_b", "o_1"}}, id: "o_1",
			want: Person{ID: "wm_b", IDs: []string{"o_1", "wm_b"}}},
		{name: "two contacts share a unionid; the smallest subject is canonical", links: []Link{{"wm_b", "o_1"}, {"wm_a", "o_1"}},
			id: "wm_b", want: Person{ID: "wm_a", IDs: []string{"o_1", "wm_a", "wm_b"}}},
		{name: "a mini-program subject that is a unionid, with a phone", links: []Link{{"wm_a", "o_1"}, {"o_1", "138"}},
			id: "138", want: Person{ID: "o_1", IDs: []string{"138", "o_1", "wm_a"}}},
		{name: "empty and self links join nothing", links: []Link{{"wm_a", ""}, {"wm_a", "wm_a"}, {"wm_b", ""}},
			id: "wm_a", want: Person{ID: "wm_a", IDs: []string{"wm_a"}}},
		{name: "an identifier shared by 20 merges", links: hub("138", MaxSharers), id: "h000",
			want: Person{ID: "h000", IDs: append([]string{"138"}, ids("h%03d", MaxSharers)...)}},
		{name: "an identifier shared by 21 is ignored", links: hub("138", MaxSharers+1), id: "h000",
			want: Person{ID: "h000", IDs: []string{"h000"}}},
		{name: "a component of 64 ids merges", links: chain(31), id: "c000",
			want: Person{ID: "c000", IDs: append(ids("c%03d", 32), ids("u%03d", 31)...)}},
		{name: "a component of 65 ids stands alone", links: chain(32), id: "c005",
			want: Person{ID: "c005", IDs: []string{"c005"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slices.Sort(tt.want.IDs)
			got := Resolve(tt.links)[tt.id]
			if got == nil {
				got = &Person{ID: tt.id, IDs: []string{tt.id}}
			}
			require.Equal(t, tt.want, *got)
			require.Equal(t, tt.want, *walkOver(tt.links, tt.id))
		})
	}
}

func ids(format string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(format, i)
	}
	return out
}

// TestWalkEqualsResolve: the one-id walk over rows fetched as the SQL does
// (at most MaxSharers+1 peers per id and role) finds the same person as the
// whole-set union-find, for every id of random link sets with hubs and
// oversized components.
func TestWalkEqualsResolve(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	for round := range 40 {
		links := randomLinks(r, 300+r.IntN(400), 40+round*10)
		all := Resolve(links)
		for id, want := range all {
			require.Equal(t, *want, *walkOver(links, id), "round %d id %s", round, id)
		}
	}
}

// randomLinks draws n links among contacts, unionids and phones of a pool of
// size pool; a few phones are shared widely (hubs).
func randomLinks(r *rand.Rand, n, pool int) []Link {
	out := make([]Link, 0, n)
	for range n {
		s := fmt.Sprintf("wm_%d", r.IntN(pool))
		if r.IntN(10) == 0 {
			s = fmt.Sprintf("o_%d", r.IntN(pool)) // a mini-program subject
		}
		v := fmt.Sprintf("o_%d", r.IntN(pool))
		switch r.IntN(4) {
		case 0:
			v = fmt.Sprintf("1%d", r.IntN(pool))
		case 1:
			v = fmt.Sprintf("1%d", r.IntN(3)) // shared phones
		}
		out = append(out, Link{s, v})
	}
	return out
}

// walkOver runs the walk against an in-memory identity_links table.
func walkOver(links []Link, id string) *Person {
	rows := rowsOf(links)
	w := newWalk(id)
	for need := w.next(); len(need) > 0; need = w.next() {
		var got []idRow
		for _, n := range need {
			got = append(got, rows[n]...)
		}
		w.add(need, got)
	}
	return w.person()
}

// rowsOf indexes links as the identity_links query returns them: per node,
// peers by role, sorted, at most MaxSharers+1 per role.
func rowsOf(links []Link) map[string][]idRow {
	subjects, values := peersByRole(links)
	out := map[string][]idRow{}
	emit := func(m map[string]map[string]bool, subject bool) {
		for node, peers := range m {
			sorted := make([]string, 0, len(peers))
			for p := range peers {
				sorted = append(sorted, p)
			}
			slices.Sort(sorted)
			for _, p := range sorted[:min(len(sorted), MaxSharers+1)] {
				out[node] = append(out[node], idRow{node: node, peer: p, subject: subject})
			}
		}
	}
	emit(subjects, true)
	emit(values, false)
	return out
}

// BenchmarkResolve: the whole-set union-find over a tenant's links (1M
// contacts would be 10x this; it is linear).
func BenchmarkResolve(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	links := randomLinks(r, 100_000, 60_000)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_ = Resolve(links)
	}
	b.ReportMetric(float64(len(links))*float64(b.N)/b.Elapsed().Seconds(), "links/s")
}

// BenchmarkWalk: resolving one id from fetched rows (the Go side of a
// profile read), over ids of the same link set.
func BenchmarkWalk(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	links := randomLinks(r, 100_000, 60_000)
	rows := rowsOf(links)
	var ids []string
	for id := range rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := ids[i%len(ids)]
		w := newWalk(id)
		for need := w.next(); len(need) > 0; need = w.next() {
			var got []idRow
			for _, n := range need {
				got = append(got, rows[n]...)
			}
			w.add(need, got)
		}
		_ = w.person()
	}
}
