-- A console user, the latest version of each column: the includer adds its
-- WHERE and GROUP BY login. Included by console_user_get and
-- console_user_list (auth/users.go scans both into one row type).
SELECT login, argMax(tenant, version), argMax(name, version), argMax(role, version),
    argMax(staff_id, version), argMax(password_hash, version), argMax(disabled, version),
    argMax(sessions_after_ms, version), argMax(created_at, version), argMax(updated_at, version),
    max(version)
FROM console_users
