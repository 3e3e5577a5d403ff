package wasiadapter

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
)

const (
	// maxPending is the output queued for the writer goroutine above which
	// producers wait (a single larger frame is still accepted alone).
	maxPending = 1 << 20
	// maxKeptBuffer is the largest batch buffer kept for reuse.
	maxKeptBuffer = 4 << 20
)

var errWriterClosed = errors.New("wasiadapter: output closed")

// frameWriter owns the output stream. Request goroutines append complete
// frames to a shared pending buffer; one goroutine (run) swaps it out and
// writes everything queued with a single Write call, so responses that finish
// while a write is in progress go out together in the next one. It does not
// wait for more: a response goes out as soon as the writer runs, so the host
// can pass it on while Go serves the next requests.
type frameWriter struct {
	w    io.Writer
	done chan struct{}

	mu      sync.Mutex
	ready   sync.Cond // signalled when pending becomes non-empty or on close
	space   sync.Cond // broadcast when pending is taken or on a write error
	pending []byte
	spare   []byte
	closed  bool
	err     error
}

func newFrameWriter(w io.Writer) *frameWriter {
	fw := &frameWriter{w: w, done: make(chan struct{})}
	fw.ready.L = &fw.mu
	fw.space.L = &fw.mu
	fw.pending = make([]byte, 0, 64<<10)
	fw.spare = make([]byte, 0, 64<<10)
	return fw
}

func appendFrameHeader(b []byte, kind, id uint32, n int) []byte {
	var h [frameHeaderSize]byte
	binary.LittleEndian.PutUint32(h[0:], kind)
	binary.LittleEndian.PutUint32(h[4:], id)
	binary.LittleEndian.PutUint32(h[8:], uint32(n))
	return append(b, h[:]...)
}

// send queues a DATA frame for id carrying a followed by b (none if both are
// empty) and, if end is set, an END frame right after it, in the same batch.
func (fw *frameWriter) send(id uint32, a, b []byte, end bool) error {
	n := len(a) + len(b)
	size := 0
	if n > 0 {
		size += frameHeaderSize + n
	}
	if end {
		size += frameHeaderSize
	}
	if size == 0 {
		return nil
	}

	fw.mu.Lock()
	for fw.err == nil && !fw.closed && len(fw.pending) > 0 && len(fw.pending)+size > maxPending {
		fw.space.Wait()
	}
	if fw.err != nil || fw.closed {
		err := fw.err
		if err == nil {
			err = errWriterClosed
		}
		fw.mu.Unlock()
		return err
	}
	wasEmpty := len(fw.pending) == 0
	p := fw.pending
	if n > 0 {
		p = appendFrameHeader(p, kindData, id, n)
		p = append(p, a...)
		p = append(p, b...)
	}
	if end {
		p = appendFrameHeader(p, kindEnd, id, 0)
	}
	fw.pending = p
	fw.mu.Unlock()
	if wasEmpty {
		fw.ready.Signal()
	}
	return nil
}

// run is the writer goroutine.
func (fw *frameWriter) run() {
	defer close(fw.done)
	fw.mu.Lock()
	for {
		for len(fw.pending) == 0 && !fw.closed {
			fw.ready.Wait()
		}
		if len(fw.pending) == 0 {
			fw.mu.Unlock()
			return
		}
		batch := fw.pending
		fw.pending = fw.spare[:0]
		fw.spare = nil
		fw.space.Broadcast()
		failed := fw.err != nil
		fw.mu.Unlock()

		var err error
		if !failed {
			_, err = fw.w.Write(batch)
		}

		fw.mu.Lock()
		if err != nil {
			fw.err = err
			fw.pending = fw.pending[:0]
			fw.space.Broadcast()
		}
		if cap(batch) <= maxKeptBuffer {
			fw.spare = batch[:0]
		} else {
			fw.spare = make([]byte, 0, 64<<10)
		}
	}
}

// close writes out what is queued, stops the writer goroutine and returns the
// first write error.
func (fw *frameWriter) close() error {
	fw.mu.Lock()
	fw.closed = true
	fw.mu.Unlock()
	fw.ready.Signal()
	fw.space.Broadcast()
	<-fw.done
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.err
}
