package wasiadapter

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"sync"
)

// flushThreshold is the buffered output above which it is sent as DATA
// without waiting for Flush or the end of the handler.
const flushThreshold = 64 << 10

// sniffLen is how much of the body http.DetectContentType looks at.
const sniffLen = 512

var errHandlerDone = errors.New("wasiadapter: write after the handler returned")

var bufferPool = sync.Pool{
	New: func() any { return bytes.NewBuffer(make([]byte, 0, 4<<10)) },
}

// response is the http.ResponseWriter of one request. Its output is the CGI
// response a CGI child would write to stdout: the header block, then the body.
// Bytes not yet sent are kept in buf.
type response struct {
	srv    *server
	id     uint32
	ctx    context.Context
	req    *http.Request // nil if the request could not be parsed
	header http.Header
	buf    *bytes.Buffer

	code        int
	wroteHeader bool // status decided (WriteHeader or first Write)
	wroteCGI    bool // header block is in buf or was sent
	sentData    bool // a DATA frame was sent
	finished    bool
	warnedTwice bool
	writeErr    error
	flow        *flowControl // nil in tests that drive a response directly
}

func newResponse(s *server, id uint32, ctx context.Context) *response {
	return &response{
		srv:    s,
		id:     id,
		ctx:    ctx,
		header: make(http.Header),
		buf:    bufferPool.Get().(*bytes.Buffer),
	}
}

func (r *response) Header() http.Header { return r.header }

// WriteHeader records the status code; the first call wins. Informational
// codes (1xx) other than 101 are not sent and do not count as the status.
func (r *response) WriteHeader(code int) {
	if r.finished {
		return
	}
	if r.wroteHeader {
		if !r.warnedTwice {
			r.warnedTwice = true
			r.srv.logf("superfluous WriteHeader(%d) call for %s", code, r.describe())
		}
		return
	}
	if code < 100 || code > 999 {
		r.srv.logf("invalid WriteHeader code %d for %s", code, r.describe())
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return
	}
	r.wroteHeader = true
	r.code = code
}

func (r *response) Write(p []byte) (int, error) {
	if r.finished {
		return 0, errHandlerDone
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !r.wroteCGI {
		r.writeCGIHeader(p)
	}
	if r.buf.Len()+len(p) > flushThreshold {
		if err := r.sendBuffered(p, false); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	r.buf.Write(p)
	return len(p), nil
}

func (r *response) WriteString(s string) (int, error) {
	if r.finished {
		return 0, errHandlerDone
	}
	if r.buf.Len()+len(s) > flushThreshold {
		return r.Write([]byte(s))
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !r.wroteCGI {
		var sniff []byte
		if _, hasType := r.header["Content-Type"]; !hasType {
			sniff = []byte(s[:min(len(s), sniffLen)])
		}
		r.writeCGIHeader(sniff)
	}
	r.buf.WriteString(s)
	return len(s), nil
}

// Flush sends the output written so far (at least the header block) to the
// host as a DATA frame.
func (r *response) Flush() { _ = r.FlushError() }

// FlushError is Flush reporting a failed output stream; it is what
// http.ResponseController.Flush uses.
func (r *response) FlushError() error {
	if r.finished {
		return errHandlerDone
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !r.wroteCGI {
		r.writeCGIHeader(nil)
	}
	return r.sendBuffered(nil, false)
}

// CloseNotify implements the deprecated http.CloseNotifier (some frameworks
// still require it): the channel receives when the request's context is
// cancelled, i.e. on CANCEL or when the handler returns.
func (r *response) CloseNotify() <-chan bool {
	ch := make(chan bool, 1)
	ctx := r.ctx
	go func() {
		<-ctx.Done()
		ch <- true
	}()
	return ch
}

// writeCGIHeader appends the header block to buf, as net/http/cgi's child does
// on the first Write: p (the first body bytes) is sniffed for a Content-Type
// if the handler set none.
func (r *response) writeCGIHeader(p []byte) {
	r.wroteCGI = true
	b := r.buf
	b.WriteString("Status: ")
	var num [8]byte
	b.Write(strconv.AppendInt(num[:0], int64(r.code), 10))
	b.WriteByte(' ')
	b.WriteString(http.StatusText(r.code))
	b.WriteString("\r\n")
	if _, hasType := r.header["Content-Type"]; !hasType {
		r.header.Set("Content-Type", http.DetectContentType(p))
	}
	r.header.Write(b)
	b.WriteString("\r\n")
}

// sendBuffered sends buf followed by extra as one DATA frame.
func (r *response) sendBuffered(extra []byte, end bool) error {
	if r.writeErr != nil {
		return r.writeErr
	}
	data := r.buf.Bytes()
	if len(data)+len(extra) > 0 {
		r.sentData = true
	}
	n := len(data) + len(extra)
	err := r.srv.out.send(r.id, data, extra, end)
	r.buf.Reset()
	if err != nil {
		r.writeErr = err
		return err
	}
	if !end && r.flow != nil && r.ctx != nil {
		r.flow.sentAndWait(r.ctx, n)
	}
	return nil
}

// internalError replaces an unsent response by a 500.
func (r *response) internalError() {
	r.buf.Reset()
	r.header = http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}
	r.code = http.StatusInternalServerError
	r.wroteHeader = true
	r.writeCGIHeader(nil)
	r.buf.WriteString("Internal Server Error")
}

// recovered handles a panic of the handler: the stack goes to stderr (unless
// it is http.ErrAbortHandler), output not yet sent is dropped and, if the host
// has seen nothing yet, the response becomes a 500.
func (r *response) recovered(p any) {
	if p != http.ErrAbortHandler {
		const size = 64 << 10
		stack := make([]byte, size)
		stack = stack[:runtime.Stack(stack, false)]
		r.srv.logf("panic serving %s: %v\n%s", r.describe(), p, stack)
	}
	if r.finished {
		return
	}
	if r.sentData {
		r.buf.Reset()
		return
	}
	r.internalError()
}

// finish sends the rest of the response and END. The header block is sent
// even if the handler wrote nothing.
func (r *response) finish() {
	if r.finished {
		return
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if !r.wroteCGI {
		r.writeCGIHeader(nil)
	}
	// Set before END is queued: a write from a goroutine the handler left
	// behind must not produce frames after END.
	r.finished = true
	// An error means the output stream failed: nothing more reaches the host.
	_ = r.sendBuffered(nil, true)
	buf := r.buf
	r.buf = nil
	if buf.Cap() <= 4*flushThreshold {
		buf.Reset()
		bufferPool.Put(buf)
	}
}

func (r *response) describe() string {
	if r.req == nil {
		return "request " + strconv.FormatUint(uint64(r.id), 10)
	}
	return r.req.Method + " " + r.req.URL.String()
}
