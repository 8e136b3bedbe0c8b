-- Every board fact of a tenant's customers, for the memory board
-- (followup/boards.go): contact_facts kinds 0-3 as stored, redeliveries and
-- not-yet-merged rows included: the memory board folds them by event key, as
-- followup_board.sql does (docs/decisions.md, "Board", B8).
-- args: tenant=demo
SELECT contact_id, kind, key_ns, key_id, key_source, staff, next_ns, last_ns
FROM contact_facts
PREWHERE tenant = @tenant AND kind IN (0, 1, 2, 3)
