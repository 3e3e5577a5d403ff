//go:build !wasip1

package wasiadapter

import "os"

// persistentV1 stands in for the host import on platforms other than wasip1
// (native tests and tools): persistent mode is selected by the environment
// variable WASI_ADAPTER_PERSISTENT=1.
func persistentV1() int32 {
	if os.Getenv("WASI_ADAPTER_PERSISTENT") == "1" {
		return 1
	}
	return 0
}
