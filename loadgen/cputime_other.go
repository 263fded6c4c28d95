//go:build !unix

package loadgen

import "time"

// processCPU is not measured here: the report leaves CPU per op out.
func processCPU() time.Duration { return 0 }
