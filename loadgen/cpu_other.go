//go:build !unix

package loadgen

import "time"

// processCPU returns 0: this platform's process CPU time is not read here.
func processCPU() time.Duration { return 0 }
