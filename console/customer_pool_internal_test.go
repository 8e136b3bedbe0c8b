package console

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/siyu-dev/siyu/auth"
	"github.com/siyu-dev/siyu/cdp"
)

// TestPoolActions: the card offers only the pool's forms that apply.
func TestPoolActions(t *testing.T) {
	rep := &sessionUser{Role: auth.RoleRep, StaffID: "s1"}
	manager := &sessionUser{Role: auth.RoleManager, StaffID: "m1"}
	admin := &sessionUser{Role: auth.RoleAdmin}
	l := Lang{Code: langEn}
	rels := []cdp.Relation{{StaffID: "s1"}, {StaffID: "s2"}, {StaffID: "s1", ContactID: "c1b"}}
	tests := []struct {
		name                   string
		u                      *sessionUser
		a                      *assignment
		claim, release, assign bool
		state                  string
	}{
		{"a rep, in the pool: claim", rep, &assignment{InPool: true}, true, false, false, "In the pool: nobody is assigned."},
		{"a rep, theirs: release", rep, &assignment{Assignee: "s1"}, false, true, false, "Assigned to you."},
		{"a rep, a colleague's: neither", rep, &assignment{}, false, false, false, "Assigned to a colleague: you cannot claim or release it."},
		{"a manager, in the pool: claim and assign", manager, &assignment{InPool: true}, true, false, true, "In the pool: nobody is assigned."},
		{"a manager, a rep's: release and assign", manager, &assignment{Assignee: "s2"}, false, true, true, "Assigned to s2."},
		{"an admin without a staff id, in the pool: assign", admin, &assignment{InPool: true}, false, false, true, "In the pool: nobody is assigned."},
		{"unknown assignment: the API decides", rep, nil, true, true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pa := poolActionsOf(l, tt.u, tt.a, rels)
			require.Equal(t, []bool{tt.claim, tt.release, tt.assign}, []bool{pa.Claim, pa.Release, pa.Assign})
			require.Equal(t, tt.state, pa.State)
			require.Equal(t, []string{"s1", "s2"}, pa.Staff, "the assign form suggests the customer's staff")
		})
	}
}
