package api

import _ "embed"

// openAPI is the OpenAPI 3 description of every route; TestOpenAPIMatchesRoutes
// keeps it in step with the router.
//
//go:embed openapi.json
var openAPI []byte
