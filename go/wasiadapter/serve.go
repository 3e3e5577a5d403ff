// Package wasiadapter runs a net/http Handler inside a wasi-adapter host.
//
// A program compiled with GOOS=wasip1 GOARCH=wasm calls Serve instead of
// net/http/cgi.Serve. When the host runs the instance in persistent mode, one
// instance serves many (concurrent) requests over framed stdin/stdout (see
// go/PROTOCOL.md); otherwise Serve behaves exactly like cgi.Serve and handles
// the single CGI request described by the environment.
package wasiadapter

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
)

// Serve serves HTTP requests with h, or with http.DefaultServeMux if h is nil.
//
// If the host runs the instance in persistent mode, Serve reads request frames
// from os.Stdin until it reaches end of file, handling the requests
// concurrently, waits for the requests in flight, and returns. Otherwise it serves
// the one CGI request in the environment (as net/http/cgi.Serve would), with
// the body on os.Stdin and the response on os.Stdout. Errors are printed to
// os.Stderr.
func Serve(h http.Handler) {
	if h == nil {
		h = http.DefaultServeMux
	}
	var err error
	if persistentV1() == 1 {
		err = serveFrames(retryReader{os.Stdin}, retryWriter{os.Stdout}, h)
	} else {
		err = serveCGI(h, os.Environ(), retryReader{os.Stdin}, retryWriter{os.Stdout}, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasiadapter:", err)
	}
}

// Frame kinds, see go/PROTOCOL.md.
const (
	kindRequest = 1 // host → Go
	kindCancel  = 2 // host → Go
	kindCredit  = 3 // host → Go: payload u32, DATA bytes the host has passed on
	kindData    = 1 // Go → host
	kindEnd     = 2 // Go → host

	frameHeaderSize = 12
	readBufferSize  = 256 << 10
)

// serveFrames runs the persistent-mode loop: it reads frames from r until end
// of file, serves the REQUESTs with h on worker goroutines (a request starts
// once those before it have returned or blocked) and writes the response
// frames to w. After end of file it waits for the requests in flight,
// flushes their output and returns. The error reports a truncated or unreadable
// input stream or a failed write to w.
func serveFrames(r io.Reader, w io.Writer, h http.Handler) error {
	return newServer(w, h, os.Stderr).run(r)
}

type server struct {
	handler http.Handler
	out     *frameWriter
	errLog  io.Writer

	mu       sync.Mutex
	inflight map[uint32]*inflightRequest
	wg       sync.WaitGroup // requests in flight

	queueMu sync.Mutex
	queue   []job     // requests no worker has taken yet, oldest first
	wake    sync.Cond // signals one idle worker
	idle    int       // workers waiting on wake
	// helperDue is set while a worker has been woken or started to take the
	// queue and has not run yet: then every queued request will be taken
	// even if each running handler blocks.
	helperDue bool
	stopping  bool
}

type inflightRequest struct {
	cancel context.CancelFunc
	flow   flowControl
}

type job struct {
	ctx     context.Context
	id      uint32
	ir      *inflightRequest
	payload []byte
}

// maxIdleWorkers is how many goroutines wait for requests between bursts.
const maxIdleWorkers = 64

func newServer(w io.Writer, h http.Handler, errLog io.Writer) *server {
	if h == nil {
		h = http.DefaultServeMux
	}
	s := &server{
		handler:  h,
		out:      newFrameWriter(w),
		errLog:   errLog,
		inflight: make(map[uint32]*inflightRequest),
	}
	s.wake.L = &s.queueMu
	return s
}

func (s *server) logf(format string, args ...any) {
	fmt.Fprintf(s.errLog, "wasiadapter: "+format+"\n", args...)
}

func (s *server) run(r io.Reader) error {
	go s.out.run()

	br := bufio.NewReaderSize(r, readBufferSize)
	hdr := make([]byte, frameHeaderSize)
	var readErr error
	for {
		if br.Buffered() == 0 {
			// Everything read so far is dispatched. Let its handlers run
			// (on wasm there is one thread and no preemption) before
			// reading more, which keeps a large backlog from starving them.
			runtime.Gosched()
		}
		if _, err := io.ReadFull(br, hdr); err != nil {
			if err != io.EOF {
				readErr = fmt.Errorf("reading frame header: %w", err)
			}
			break
		}
		kind := binary.LittleEndian.Uint32(hdr[0:4])
		id := binary.LittleEndian.Uint32(hdr[4:8])
		n := binary.LittleEndian.Uint32(hdr[8:12])

		if kind == kindCredit && n == 4 {
			var amount [4]byte
			if _, err := io.ReadFull(br, amount[:]); err != nil {
				readErr = fmt.Errorf("reading frame payload: %w", err)
				break
			}
			s.credit(id, binary.LittleEndian.Uint32(amount[:]))
			continue
		}
		if kind != kindRequest {
			if n > 0 {
				if _, err := br.Discard(int(n)); err != nil {
					readErr = fmt.Errorf("reading frame payload: %w", err)
					break
				}
			}
			if kind == kindCancel {
				s.cancel(id)
			} else {
				s.logf("ignoring frame of unknown kind %d (id %d)", kind, id)
			}
			continue
		}

		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			readErr = fmt.Errorf("reading request %d: %w", id, err)
			break
		}
		s.start(id, payload)
	}

	// No more requests: let the ones in flight finish, then flush.
	s.wg.Wait()
	s.queueMu.Lock()
	s.stopping = true
	s.queueMu.Unlock()
	s.wake.Broadcast()
	writeErr := s.out.close()
	if readErr != nil {
		return readErr
	}
	return writeErr
}

// start registers request id (so that a CANCEL frame read right after it
// finds it) and queues it for a worker goroutine.
func (s *server) start(id uint32, payload []byte) {
	ctx, cancel := context.WithCancel(context.Background())
	j := job{ctx: ctx, id: id, ir: &inflightRequest{cancel: cancel}, payload: payload}
	s.mu.Lock()
	_, dup := s.inflight[id]
	s.inflight[id] = j.ir
	s.mu.Unlock()
	if dup {
		s.logf("request id %d is already in flight", id)
	}

	s.wg.Add(1)
	s.queueMu.Lock()
	s.queue = append(s.queue, j)
	s.ensureHelperLocked()
	s.queueMu.Unlock()
}

// ensureHelperLocked makes sure that a worker that is not serving a request
// yet will take the queue: an idle one woken, else a new one. A worker that
// ends a request takes the next one itself, so a burst of requests whose
// handlers do not block is served by one goroutine, without a switch per
// request; the helper runs only once a handler blocks or the burst is done.
func (s *server) ensureHelperLocked() {
	if len(s.queue) == 0 || s.helperDue {
		return
	}
	s.helperDue = true
	if s.idle > 0 {
		s.wake.Signal()
	} else {
		go s.worker()
	}
}

// worker serves queued requests until the queue is empty, then waits for
// more unless enough workers are waiting already. Reusing goroutines (as
// net/http does for the requests of one connection) saves growing a fresh
// stack for every request.
func (s *server) worker() {
	s.queueMu.Lock()
	s.helperDue = false
	for {
		for len(s.queue) == 0 {
			if s.stopping || s.idle >= maxIdleWorkers {
				s.queueMu.Unlock()
				return
			}
			s.idle++
			s.wake.Wait()
			s.idle--
			s.helperDue = false
		}
		j := s.queue[0]
		s.queue[0] = job{} // the queue keeps no request alive
		s.queue = s.queue[1:]
		s.ensureHelperLocked()
		s.queueMu.Unlock()
		s.serveRequest(j)
		s.queueMu.Lock()
	}
}

func (s *server) cancel(id uint32) {
	s.mu.Lock()
	ir := s.inflight[id]
	s.mu.Unlock()
	if ir != nil {
		ir.cancel()
	}
}

func (s *server) credit(id uint32, amount uint32) {
	s.mu.Lock()
	ir := s.inflight[id]
	s.mu.Unlock()
	if ir != nil {
		ir.flow.credit(amount)
	}
}

// finishRequest forgets id. It runs before END is queued: once the host has
// seen END it may reuse the id.
func (s *server) finishRequest(id uint32, ir *inflightRequest) {
	s.mu.Lock()
	if s.inflight[id] == ir {
		delete(s.inflight, id)
	}
	s.mu.Unlock()
	ir.cancel()
}

func (s *server) serveRequest(j job) {
	ctx, id, ir := j.ctx, j.id, j.ir
	rw := newResponse(s, id, ctx)
	rw.flow = &ir.flow
	defer s.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			rw.recovered(p)
		}
		s.finishRequest(id, ir)
		rw.finish()
	}()

	req, err := parseRequest(ctx, j.payload)
	if err != nil {
		s.logf("bad request %d: %v", id, err)
		rw.internalError()
		return
	}
	rw.req = req
	s.handler.ServeHTTP(rw, req)
}
