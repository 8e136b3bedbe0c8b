package cdp

import "database/sql"

var sqlNoRows = sql.ErrNoRows
