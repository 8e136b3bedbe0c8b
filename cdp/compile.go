package cdp

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	siyusql "github.com/siyu-dev/siyu/sql"
)

// The queries a segment compiles to: the scalar facts of each customer,
// one query per set-valued condition (a tag, a tag group, a staff member,
// anyone), and the member columns of chosen customers.
var (
	qFilterBase   = siyusql.Query("segment_filter_base")
	qTagMembers   = siyusql.Query("segment_tag_members")
	qGroupMembers = siyusql.Query("segment_group_members")
	qStaffMembers = siyusql.Query("segment_staff_members")
	qHeldMembers  = siyusql.Query("segment_held_members")
	qUnknownTags  = siyusql.Query("segment_unknown_tag_members")
	qAcquired     = siyusql.Query("segment_acquisition_members")
	qAssigned     = siyusql.Query("segment_assignees")
	qMembers      = siyusql.Query("segment_members")
)

// CompiledSegment is a segment as a ClickHouse boolean expression over the
// columns of segment_filter_base, its set-valued conditions as
// `contact_id IN (...)` over the segment_*_members queries. The SQL text is
// made only of whitelisted column names, operators, those queries and
// placeholders (@p0, @p1, ...); every value of the definition is in Args,
// bound by clickhouse-go, never pasted.
type CompiledSegment struct {
	Where string
	Args  []any
}

// CompileSegment compiles s; relative windows ("7d") are resolved against now.
func CompileSegment(s *Segment, now time.Time) CompiledSegment {
	c := &compiler{now: now.UnixNano()}
	where := c.expr(s.root)
	return CompiledSegment{Where: where, Args: c.args}
}

// CountSQL is the query counting the members of the segment in @tenant.
func (c CompiledSegment) CountSQL() string {
	return "SELECT count() FROM (" + qFilterBase + ") WHERE " + c.Where
}

// PageSQL is the query of the contact ids of the members after @after, by
// contact id, at most @limit of them: keyset paging. MembersSQL reads
// their columns.
func (c CompiledSegment) PageSQL() string {
	return c.StreamSQL() + " LIMIT @limit"
}

// StreamSQL is the query of the contact ids of every member after @after,
// by contact id: an export or a bulk job reads it as a stream.
func (c CompiledSegment) StreamSQL() string {
	return "SELECT contact_id FROM (" + qFilterBase + ") WHERE (" + c.Where +
		") AND contact_id > @after ORDER BY contact_id"
}

// MembersSQL is the query of the member columns of the customers @ids of
// @tenant, by contact id.
func MembersSQL() string { return qMembers }

type compiler struct {
	now  int64
	args []any
}

// subquery returns q with its placeholder @name bound to v under a
// placeholder of its own (each condition's value is a parameter).
func (c *compiler) subquery(q, name string, v any) string {
	ph := c.param(v)
	return regexp.MustCompile("@"+name+`\b`).ReplaceAllLiteralString(q, ph)
}

// param binds v and returns its placeholder.
func (c *compiler) param(v any) string {
	name := fmt.Sprintf("p%d", len(c.args))
	c.args = append(c.args, clickhouse.Named(name, v))
	return "@" + name
}

func (c *compiler) expr(n *node) string {
	switch n.kind {
	case nodeAnd, nodeOr:
		sep := " AND "
		if n.kind == nodeOr {
			sep = " OR "
		}
		parts := make([]string, len(n.kids))
		for i, k := range n.kids {
			parts[i] = c.expr(k)
		}
		return "(" + strings.Join(parts, sep) + ")"
	case nodeNot:
		return "NOT (" + c.expr(n.kids[0]) + ")"
	case nodeHasTag:
		return "contact_id IN (" + c.subquery(qTagMembers, "tag", n.strs[0]) + ")"
	case nodeHasGroup:
		in := "contact_id IN (" + c.subquery(qGroupMembers, "tag_group", n.strs[0]) + ")"
		if n.strs[0] == "" {
			in = "(" + in + " OR contact_id IN (" + qUnknownTags + "))"
		}
		return in
	case nodeStaff:
		return "contact_id IN (" + c.subquery(qStaffMembers, "staff_id", n.strs[0]) + ")"
	case nodeLost:
		if n.flag {
			return "contact_id NOT IN (" + qHeldMembers + ")"
		}
		return "contact_id IN (" + qHeldMembers + ")"
	case nodeTimeWindow:
		return c.window(n)
	}
	return c.field(n)
}

// setColumns are the fields read from another rollup than
// segment_filter_base, with the query of the customers meeting a condition
// on them: the acquisition (acquisition_state) and the assignee
// (contact_facts).
var setColumns = map[string]*string{"add_way": &qAcquired, "channel": &qAcquired, "added_by": &qAcquired,
	"assignee": &qAssigned}

// conditionMarker is where segment_acquisition_members and
// segment_assignees take their condition.
const conditionMarker = "/*condition*/ 1"

// field compiles a field condition; one on the acquisition or the assignee
// is a set of contact ids over its query. A contact without a
// contact.added (or an assignee fact) has no row there and the defaults ""
// and 0 (as a LEFT JOIN would give): when the condition holds on them,
// such a contact is a member, so the set is that of the contacts whose row
// fails it.
func (c *compiler) field(n *node) string {
	q, ok := setColumns[n.field.column]
	if !ok {
		return c.scalar(n)
	}
	cond, in := c.scalar(n), "contact_id IN "
	if holdsOnDefault(n) {
		cond, in = "NOT ("+cond+")", "contact_id NOT IN "
	}
	return in + "(SELECT contact_id FROM (" + strings.Replace(*q, conditionMarker, "("+cond+")", 1) + "))"
}

// holdsOnDefault evaluates a string or number condition on the column's
// default, "" or 0, as ClickHouse would.
func holdsOnDefault(n *node) bool {
	if n.field.kind == kindNumber {
		return holdsOnZero(n)
	}
	switch n.op {
	case "=":
		return n.strs[0] == ""
	case "!=":
		return n.strs[0] != ""
	case "in":
		return slices.Contains(n.strs, "")
	case "not_in":
		return !slices.Contains(n.strs, "")
	case "contains": // position('', x) > 0 only for x = ''
		return n.strs[0] == ""
	}
	panic("cdp: no default rule for string operator " + n.op)
}

func holdsOnZero(n *node) bool {
	switch n.op {
	case "in":
		return slices.Contains(n.nums, 0)
	case "not_in":
		return !slices.Contains(n.nums, 0)
	}
	v := n.nums[0]
	switch n.op {
	case "=":
		return v == 0
	case "!=":
		return v != 0
	case "<":
		return 0 < v
	case "<=":
		return 0 <= v
	case ">":
		return 0 > v
	case ">=":
		return 0 >= v
	}
	panic("cdp: no default rule for number operator " + n.op)
}

// scalar compiles a field condition as an expression over its column.
func (c *compiler) scalar(n *node) string {
	col := n.field.column
	switch {
	case n.op == "in" || n.op == "not_in":
		ph := make([]string, 0, len(n.strs)+len(n.nums))
		for _, s := range n.strs {
			ph = append(ph, c.param(s))
		}
		for _, x := range n.nums {
			ph = append(ph, c.param(x))
		}
		op := " IN ("
		if n.op == "not_in" {
			op = " NOT IN ("
		}
		return col + op + strings.Join(ph, ", ") + ")"
	case n.op == "contains":
		return "position(" + col + ", " + c.param(n.strs[0]) + ") > 0"
	case n.op == "exists" && n.flag:
		return col + " != 0"
	case n.op == "exists":
		return col + " = 0"
	case n.field.kind == kindTime:
		// "never" (0) is before and after nothing.
		return "(" + col + " != 0 AND " + col + " " + n.op + " " + c.param(n.ns) + ")"
	case n.field.kind == kindNumber:
		return col + " " + n.op + " " + c.param(n.nums[0])
	}
	return col + " " + n.op + " " + c.param(n.strs[0])
}

// window is within (now−d ≤ t ≤ now), its negation not_within (which
// includes "never" and future times), and within_next (now ≤ t ≤ now+d).
func (c *compiler) window(n *node) string {
	lo, hi := c.now-int64(n.dur), c.now
	if n.op == "within_next" {
		lo, hi = c.now, c.now+int64(n.dur)
	}
	col := n.field.column
	in := "(" + col + " >= " + c.param(lo) + " AND " + col + " <= " + c.param(hi) + ")"
	if n.op == "not_within" {
		return "NOT " + in
	}
	return in
}
