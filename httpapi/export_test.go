package httpapi

// CheckSpec lets the end-to-end tests (package httpapi_test) validate every
// real response against docs/openapi.yaml.
var CheckSpec = checkSpec
