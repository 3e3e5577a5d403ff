//go:build wasip1

package wasiadapter

// persistentV1 is provided by the host (see go/PROTOCOL.md). It returns 1 when
// the instance runs in persistent mode (framed stdin/stdout) and 0 when it was
// started for one plain CGI request.
//
//go:wasmimport wasi_adapter persistent_v1
func persistentV1() int32
