package wasiadapter

import (
	"context"
	"sync"
)

// flowWindow is how many DATA bytes of one response may be on their way to a
// client before the handler's writes wait for the host to report them passed
// on (CREDIT frames). A client that reads slowly thus slows the handler that
// writes to it, not the instance, and the host never holds more than this
// much of a response in memory on the handler's behalf.
const flowWindow = 1 << 20

// flowControl counts one response's DATA bytes against the host's credit.
type flowControl struct {
	mu       sync.Mutex
	sent     uint64
	credited uint64
	wake     chan struct{}
}

func (f *flowControl) credit(amount uint32) {
	f.mu.Lock()
	f.credited += uint64(amount)
	wake := f.wake
	f.wake = nil
	f.mu.Unlock()
	if wake != nil {
		close(wake)
	}
}

// sentAndWait records n more bytes sent and, while more than flowWindow bytes
// are unacknowledged, waits for credit or for ctx to end.
func (f *flowControl) sentAndWait(ctx context.Context, n int) {
	f.mu.Lock()
	f.sent += uint64(n)
	for f.sent-min(f.sent, f.credited) > flowWindow {
		if f.wake == nil {
			f.wake = make(chan struct{})
		}
		wake := f.wake
		f.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return
		}
		f.mu.Lock()
	}
	f.mu.Unlock()
}
