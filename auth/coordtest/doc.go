// Package coordtest holds the conformance suites of auth's coordination
// interfaces, the state that instances of a scaled-out server share: every
// implementation (the in-process one in auth, a Redis one, ...) runs the
// same tests, so auth can rely on the same behaviour from each.
//
// The suites run in parallel and tolerate other tests on the same backend
// (one shared Redis, say): every test uses random ids and looks only at
// what it published itself.
package coordtest
