package followup

import "context"

// AssigneesForTest reads the assignee of each of a tenant's customers from
// the contact_facts rollup, for the external property test.
func AssigneesForTest(ctx context.Context, conn queryer, tenant string) (map[string]string, error) {
	rows, err := readStates(ctx, conn, tenant, "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, s := range rows {
		out[s.contact] = s.holding.Assignee()
	}
	return out, nil
}
