package auth

import "context"

// Sweep runs one round of the background sweep, for tests that move a fake
// clock instead of waiting for the ticker.
func Sweep(s *Service, ctx context.Context) { s.sweep(ctx) }
