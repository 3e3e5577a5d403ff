package wasiadapter

import (
	"errors"
	"io"
	"syscall"
	"time"
)

// Go on wasip1 puts stdin and stdout into non-blocking mode and waits for them
// with poll_oneoff, but only if fd_fdstat_get then reports FDFLAGS_NONBLOCK.
// A host that makes fd_read/fd_write return EAGAIN without reporting the flag
// makes os.Stdin.Read and os.Stdout.Write fail with EAGAIN. These wrappers
// retry after a short sleep instead, so such hosts still work (slowly).

const (
	minRetryDelay = 50 * time.Microsecond
	maxRetryDelay = 5 * time.Millisecond
)

type retryReader struct{ r io.Reader }

func (r retryReader) Read(p []byte) (int, error) {
	delay := minRetryDelay
	for {
		n, err := r.r.Read(p)
		if !errors.Is(err, syscall.EAGAIN) {
			return n, err
		}
		if n > 0 {
			return n, nil
		}
		time.Sleep(delay)
		delay = min(2*delay, maxRetryDelay)
	}
}

type retryWriter struct{ w io.Writer }

func (w retryWriter) Write(p []byte) (int, error) {
	delay := minRetryDelay
	written := 0
	for {
		n, err := w.w.Write(p[written:])
		written += n
		if !errors.Is(err, syscall.EAGAIN) {
			return written, err
		}
		if written == len(p) {
			return written, nil
		}
		if n > 0 {
			delay = minRetryDelay
		}
		time.Sleep(delay)
		delay = min(2*delay, maxRetryDelay)
	}
}
