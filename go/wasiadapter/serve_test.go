package wasiadapter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---- frame helpers ----

type frame struct {
	kind, id uint32
	payload  []byte
}

func appendFrame(b []byte, kind, id uint32, payload []byte) []byte {
	b = appendFrameHeader(b, kind, id, len(payload))
	return append(b, payload...)
}

// requestPayload builds a REQUEST payload from NAME=value pairs and a body.
func requestPayload(env []string, body string) []byte {
	var e []byte
	for _, kv := range env {
		e = append(e, kv...)
		e = append(e, 0)
	}
	p := binary.LittleEndian.AppendUint32(nil, uint32(len(e)))
	p = append(p, e...)
	return append(p, body...)
}

func getEnv(uri string, extra ...string) []string {
	path, query, _ := strings.Cut(uri, "?")
	env := []string{
		"REQUEST_METHOD=GET",
		"SERVER_PROTOCOL=HTTP/1.1",
		"HTTP_HOST=example.com",
		"REQUEST_URI=" + uri,
		"SCRIPT_NAME=",
		"PATH_INFO=" + path,
		"QUERY_STRING=" + query,
		"REMOTE_ADDR=192.0.2.1",
		"REMOTE_PORT=4321",
		"SERVER_NAME=example.com",
		"SERVER_PORT=80",
		"GATEWAY_INTERFACE=CGI/1.1",
	}
	return append(env, extra...)
}

func readFrame(r io.Reader) (frame, error) {
	var h [frameHeaderSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return frame{}, err
	}
	f := frame{
		kind: binary.LittleEndian.Uint32(h[0:]),
		id:   binary.LittleEndian.Uint32(h[4:]),
	}
	f.payload = make([]byte, binary.LittleEndian.Uint32(h[8:]))
	_, err := io.ReadFull(r, f.payload)
	return f, err
}

// ---- harness: serveFrames over pipes ----

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	t      *testing.T
	in     *io.PipeWriter
	frames chan frame
	done   chan error
	stderr *syncBuffer

	mu     sync.Mutex
	ended  map[uint32]bool
	errors []string
}

func newHarness(t *testing.T, h http.Handler) *harness {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	hs := &harness{
		t:      t,
		in:     inW,
		frames: make(chan frame, 1024),
		done:   make(chan error, 1),
		stderr: &syncBuffer{},
		ended:  make(map[uint32]bool),
	}
	go func() {
		err := newServer(outW, h, hs.stderr).run(inR)
		outW.Close()
		hs.done <- err
	}()
	go func() {
		defer close(hs.frames)
		br := bufio.NewReader(outR)
		for {
			f, err := readFrame(br)
			if err != nil {
				if err != io.EOF {
					hs.violation("reading output: %v", err)
				}
				return
			}
			hs.mu.Lock()
			if hs.ended[f.id] {
				hs.errors = append(hs.errors, fmt.Sprintf("frame kind %d for id %d after END", f.kind, f.id))
			}
			switch f.kind {
			case kindData:
			case kindEnd:
				if len(f.payload) != 0 {
					hs.errors = append(hs.errors, fmt.Sprintf("END for id %d has a payload", f.id))
				}
				hs.ended[f.id] = true
			default:
				hs.errors = append(hs.errors, fmt.Sprintf("unknown output frame kind %d", f.kind))
			}
			hs.mu.Unlock()
			hs.frames <- f
		}
	}()
	t.Cleanup(func() {
		hs.in.Close()
		select {
		case <-hs.done:
		case <-time.After(10 * time.Second):
			t.Errorf("serveFrames did not return after stdin EOF")
		}
		hs.checkViolations()
	})
	return hs
}

func (hs *harness) violation(format string, args ...any) {
	hs.mu.Lock()
	hs.errors = append(hs.errors, fmt.Sprintf(format, args...))
	hs.mu.Unlock()
}

func (hs *harness) checkViolations() {
	hs.t.Helper()
	hs.mu.Lock()
	defer hs.mu.Unlock()
	for _, e := range hs.errors {
		hs.t.Error("protocol violation: " + e)
	}
}

func (hs *harness) send(kind, id uint32, payload []byte) {
	hs.t.Helper()
	if _, err := hs.in.Write(appendFrame(nil, kind, id, payload)); err != nil {
		hs.t.Fatalf("writing frame: %v", err)
	}
}

func (hs *harness) request(id uint32, env []string, body string) {
	hs.t.Helper()
	hs.send(kindRequest, id, requestPayload(env, body))
}

func (hs *harness) next() frame {
	hs.t.Helper()
	select {
	case f, ok := <-hs.frames:
		if !ok {
			hs.t.Fatalf("output closed")
		}
		return f
	case <-time.After(10 * time.Second):
		hs.t.Fatalf("timed out waiting for a frame")
	}
	panic("unreachable")
}

// collect reads frames until n requests have ended and returns each one's
// concatenated DATA and its number of DATA frames.
func (hs *harness) collect(n int) (map[uint32][]byte, map[uint32]int) {
	hs.t.Helper()
	data := make(map[uint32][]byte)
	count := make(map[uint32]int)
	for ended := 0; ended < n; {
		f := hs.next()
		if f.kind == kindEnd {
			ended++
			if _, ok := data[f.id]; !ok {
				data[f.id] = nil
			}
			continue
		}
		data[f.id] = append(data[f.id], f.payload...)
		count[f.id]++
	}
	return data, count
}

type cgiResponse struct {
	status string
	header http.Header
	lines  []string // header lines in order, after Status
	body   string
}

func parseCGI(t *testing.T, raw []byte) cgiResponse {
	t.Helper()
	head, body, ok := strings.Cut(string(raw), "\r\n\r\n")
	if !ok {
		t.Fatalf("no end of header block in %q", raw)
	}
	lines := strings.Split(head, "\r\n")
	status, ok := strings.CutPrefix(lines[0], "Status: ")
	if !ok {
		t.Fatalf("first line is not Status: %q", raw)
	}
	r := cgiResponse{status: status, header: http.Header{}, lines: lines[1:], body: body}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ": ")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		r.header.Add(k, v)
	}
	return r
}

// ---- tests ----

func TestGet(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<html>%s %s q=%s host=%s remote=%s ua=%s cl=%d",
			r.Method, r.URL.Path, r.URL.Query().Get("q"), r.Host, r.RemoteAddr,
			r.Header.Get("User-Agent"), r.ContentLength)
	}))
	hs.request(7, getEnv("/hello?q=1", "HTTP_USER_AGENT=test-agent"), "")
	data, count := hs.collect(1)
	if count[7] != 1 {
		t.Errorf("got %d DATA frames, want 1", count[7])
	}
	resp := parseCGI(t, data[7])
	if resp.status != "200 OK" {
		t.Errorf("status %q", resp.status)
	}
	if got := resp.header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("sniffed Content-Type %q", got)
	}
	want := "<html>GET /hello q=1 host=example.com remote=192.0.2.1:4321 ua=test-agent cl=0"
	if resp.body != want {
		t.Errorf("body %q, want %q", resp.body, want)
	}
}

func TestExactHeaderBlock(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
		case "/created":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-B", "2")
			w.Header().Set("X-A", "1")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{}`)
		case "/custom":
			w.WriteHeader(599)
		}
	}))
	hs.request(1, getEnv("/empty"), "")
	hs.request(2, getEnv("/created"), "")
	hs.request(3, getEnv("/custom"), "")
	data, _ := hs.collect(3)
	want := map[uint32]string{
		1: "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		2: "Status: 201 Created\r\nContent-Type: application/json\r\nX-A: 1\r\nX-B: 2\r\n\r\n{}",
		3: "Status: 599 \r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
	}
	for id, w := range want {
		if string(data[id]) != w {
			t.Errorf("id %d: got %q, want %q", id, data[id], w)
		}
	}
}

func TestPostBody(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading body: %v", err)
		}
		if err := r.ParseForm(); err != nil {
			t.Errorf("ParseForm: %v", err)
		}
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s|%d|%s|%s", r.Method, r.ContentLength, r.Header.Get("Content-Type"), b)
	}))
	body := "a=1&b=two"
	hs.request(1, []string{
		"REQUEST_METHOD=POST",
		"SERVER_PROTOCOL=HTTP/1.1",
		"REQUEST_URI=/form",
		"CONTENT_TYPE=application/x-www-form-urlencoded",
		"CONTENT_LENGTH=" + strconv.Itoa(len(body)),
	}, body)

	// A big body, checked byte for byte.
	big := strings.Repeat("0123456789abcdef", 20000)
	hs.request(2, []string{
		"REQUEST_METHOD=PUT",
		"SERVER_PROTOCOL=HTTP/1.1",
		"REQUEST_URI=/big",
		"CONTENT_TYPE=application/octet-stream",
		"CONTENT_LENGTH=" + strconv.Itoa(len(big)),
	}, big)

	data, _ := hs.collect(2)
	if got, want := parseCGI(t, data[1]).body, "POST|9|application/x-www-form-urlencoded|a=1&b=two"; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	if got, want := parseCGI(t, data[2]).body, "PUT|320000|application/octet-stream|"+big; got != want {
		t.Errorf("big body mismatch (len %d, want %d)", len(got), len(want))
	}
}

func TestSetCookies(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "c", Value: "3", HttpOnly: true})
		w.Header().Set("Location", "/next")
		w.WriteHeader(http.StatusFound)
	}))
	hs.request(1, getEnv("/"), "")
	data, _ := hs.collect(1)
	resp := parseCGI(t, data[1])
	if resp.status != "302 Found" {
		t.Errorf("status %q", resp.status)
	}
	var cookies []string
	for _, l := range resp.lines {
		if v, ok := strings.CutPrefix(l, "Set-Cookie: "); ok {
			cookies = append(cookies, v)
		}
	}
	want := []string{"a=1", "b=2; Path=/", "c=3; HttpOnly"}
	if strings.Join(cookies, "\n") != strings.Join(want, "\n") {
		t.Errorf("Set-Cookie lines %q, want %q", cookies, want)
	}
	if resp.header.Get("Location") != "/next" {
		t.Errorf("Location %q", resp.header.Get("Location"))
	}
}

func TestFlushSendsEarlyData(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: two\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
		<-release
		io.WriteString(w, "data: three\n\n")
	}))
	hs.request(5, getEnv("/events"), "")

	f := hs.next()
	if f.kind != kindData || f.id != 5 {
		t.Fatalf("got frame kind %d id %d, want DATA 5", f.kind, f.id)
	}
	resp := parseCGI(t, f.payload)
	if resp.status != "200 OK" || resp.header.Get("Content-Type") != "text/event-stream" || resp.body != "data: one\n\n" {
		t.Fatalf("first DATA frame %q", f.payload)
	}
	release <- struct{}{}
	f = hs.next()
	if f.kind != kindData || string(f.payload) != "data: two\n\n" {
		t.Fatalf("second frame kind %d %q", f.kind, f.payload)
	}
	release <- struct{}{}
	f = hs.next()
	if f.kind != kindData || string(f.payload) != "data: three\n\n" {
		t.Fatalf("third frame kind %d %q", f.kind, f.payload)
	}
	if f = hs.next(); f.kind != kindEnd || f.id != 5 {
		t.Fatalf("got frame kind %d id %d, want END 5", f.kind, f.id)
	}
}

func TestFlushBeforeWrite(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-release
	}))
	hs.request(1, getEnv("/"), "")
	f := hs.next()
	if f.kind != kindData || string(f.payload) != "Status: 200 OK\r\nContent-Type: text/event-stream\r\n\r\n" {
		t.Fatalf("got kind %d %q", f.kind, f.payload)
	}
	close(release)
	if f = hs.next(); f.kind != kindEnd {
		t.Fatalf("want END, got kind %d", f.kind)
	}
}

func TestLargeOutputIsChunked(t *testing.T) {
	chunk := strings.Repeat("x", 1000)
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 300; i++ {
			io.WriteString(w, chunk)
		}
		w.Write(bytes.Repeat([]byte("y"), 200000)) // one big write
		io.WriteString(w, "end")
	}))
	hs.request(1, getEnv("/"), "")
	var frames [][]byte
	for {
		f := hs.next()
		if f.kind == kindEnd {
			break
		}
		if len(f.payload) > 300000 {
			t.Errorf("DATA frame of %d bytes", len(f.payload))
		}
		frames = append(frames, f.payload)
	}
	if len(frames) < 5 {
		t.Errorf("got %d DATA frames, want >= 5", len(frames))
	}
	for i, f := range frames[:len(frames)-1] {
		if len(f) <= flushThreshold && i < 4 {
			t.Errorf("frame %d has %d bytes, want > %d", i, len(f), flushThreshold)
		}
	}
	resp := parseCGI(t, bytes.Join(frames, nil))
	want := strings.Repeat(chunk, 300) + strings.Repeat("y", 200000) + "end"
	if resp.body != want {
		t.Errorf("body mismatch: len %d, want %d", len(resp.body), len(want))
	}
	if resp.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q", resp.header.Get("Content-Type"))
	}
}

func TestPanicThenNextRequest(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			w.Header().Set("X-Lost", "yes")
			io.WriteString(w, "partial")
			panic("boom")
		case "/abort":
			panic(http.ErrAbortHandler)
		case "/late-panic":
			io.WriteString(w, "streamed")
			w.(http.Flusher).Flush()
			io.WriteString(w, "lost")
			panic("late boom")
		}
		io.WriteString(w, "fine")
	}))
	hs.request(1, getEnv("/panic"), "")
	data, _ := hs.collect(1)
	want := "Status: 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n\r\nInternal Server Error"
	if string(data[1]) != want {
		t.Errorf("got %q, want %q", data[1], want)
	}
	log := hs.stderr.String()
	if !strings.Contains(log, "panic serving GET http://example.com/panic: boom") || !strings.Contains(log, "goroutine ") {
		t.Errorf("stderr lacks panic and stack: %q", log)
	}

	hs.request(2, getEnv("/ok"), "")
	data, _ = hs.collect(1)
	if resp := parseCGI(t, data[2]); resp.status != "200 OK" || resp.body != "fine" {
		t.Errorf("request after panic: %q", data[2])
	}

	hs.request(3, getEnv("/abort"), "")
	data, _ = hs.collect(1)
	if resp := parseCGI(t, data[3]); resp.status != "500 Internal Server Error" {
		t.Errorf("abort: %q", data[3])
	}
	if strings.Contains(hs.stderr.String(), "abort") {
		t.Errorf("ErrAbortHandler was logged: %q", hs.stderr.String())
	}

	hs.request(4, getEnv("/late-panic"), "")
	data, _ = hs.collect(1)
	if resp := parseCGI(t, data[4]); resp.status != "200 OK" || resp.body != "streamed" {
		t.Errorf("late panic: %q", data[4])
	}
}

func TestCancel(t *testing.T) {
	started := make(chan struct{})
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			fmt.Fprintf(w, "cancelled: %v", r.Context().Err())
		case <-time.After(10 * time.Second):
			io.WriteString(w, "not cancelled")
		}
	}))
	hs.request(9, getEnv("/slow"), "")
	<-started
	hs.send(kindCancel, 9, nil)
	hs.send(kindCancel, 12345, nil) // unknown id: ignored
	data, _ := hs.collect(1)
	if resp := parseCGI(t, data[9]); resp.body != "cancelled: context canceled" {
		t.Errorf("got %q", data[9])
	}
}

func TestCancelBeforeHandlerRuns(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		io.WriteString(w, "cancelled")
	}))
	// REQUEST and CANCEL in one write: the cancel must not be lost.
	var b []byte
	b = appendFrame(b, kindRequest, 3, requestPayload(getEnv("/"), ""))
	b = appendFrame(b, kindCancel, 3, nil)
	hs.in.Write(b)
	data, _ := hs.collect(1)
	if resp := parseCGI(t, data[3]); resp.body != "cancelled" {
		t.Errorf("got %q", data[3])
	}
}

func TestCloseNotify(t *testing.T) {
	started := make(chan struct{})
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ch := w.(http.CloseNotifier).CloseNotify()
		close(started)
		<-ch
		io.WriteString(w, "gone")
	}))
	hs.request(1, getEnv("/"), "")
	<-started
	hs.send(kindCancel, 1, nil)
	data, _ := hs.collect(1)
	if resp := parseCGI(t, data[1]); resp.body != "gone" {
		t.Errorf("got %q", data[1])
	}
}

func TestConcurrentInterleaved(t *testing.T) {
	const n = 500
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.URL.Query().Get("id"))
		body, _ := io.ReadAll(r.Body)
		time.Sleep(time.Duration(id%7) * time.Millisecond)
		w.Header().Set("X-Id", strconv.Itoa(id))
		io.WriteString(w, "id="+strconv.Itoa(id)+" ")
		if id%3 == 0 {
			w.(http.Flusher).Flush()
		}
		w.Write(body)
	}))
	// Send all requests in a few big writes, ids not in order.
	var b []byte
	for i := 0; i < n; i++ {
		id := uint32((i*7919)%n + 1000)
		body := strings.Repeat(strconv.Itoa(int(id)), int(id%5))
		env := getEnv("/c?id="+strconv.Itoa(int(id)),
			"REQUEST_METHOD=POST", "CONTENT_LENGTH="+strconv.Itoa(len(body)))
		b = appendFrame(b, kindRequest, id, requestPayload(env, body))
		if len(b) > 32<<10 {
			hs.in.Write(b)
			b = b[:0]
		}
	}
	hs.in.Write(b)
	data, _ := hs.collect(n)
	if len(data) != n {
		t.Fatalf("got %d responses, want %d", len(data), n)
	}
	for id, raw := range data {
		resp := parseCGI(t, raw)
		want := "id=" + strconv.Itoa(int(id)) + " " + strings.Repeat(strconv.Itoa(int(id)), int(id%5))
		if resp.body != want || resp.header.Get("X-Id") != strconv.Itoa(int(id)) {
			t.Errorf("id %d: got %q", id, raw)
		}
	}
}

// Requests that arrive together are served by as few goroutines as possible,
// but one whose handler blocks must not hold back those behind it.
func TestBlockedHandlerDoesNotHoldBackTheBurst(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wait":
			select {
			case <-release:
				io.WriteString(w, "released")
			case <-time.After(5 * time.Second):
				io.WriteString(w, "never released")
			}
		case "/release":
			close(release)
			io.WriteString(w, "done")
		default:
			io.WriteString(w, "quick")
		}
	}))
	var b []byte
	b = appendFrame(b, kindRequest, 1, requestPayload(getEnv("/wait"), ""))
	for id := uint32(2); id < 10; id++ {
		b = appendFrame(b, kindRequest, id, requestPayload(getEnv("/quick"), ""))
	}
	b = appendFrame(b, kindRequest, 10, requestPayload(getEnv("/release"), ""))
	hs.in.Write(b)
	data, _ := hs.collect(10)
	if body := parseCGI(t, data[1]).body; body != "released" {
		t.Fatalf("the blocked request answered %q, want %q", body, "released")
	}
	for id := uint32(2); id < 10; id++ {
		if body := parseCGI(t, data[id]).body; body != "quick" {
			t.Errorf("request %d answered %q", id, body)
		}
	}
}

func TestInformationalAndSuperfluousWriteHeader(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusContinue)
		w.WriteHeader(http.StatusAccepted)
		w.WriteHeader(http.StatusTeapot) // ignored
		w.WriteHeader(42)                // invalid, ignored
		io.WriteString(w, "ok")
	}))
	hs.request(1, getEnv("/"), "")
	data, _ := hs.collect(1)
	resp := parseCGI(t, data[1])
	if resp.status != "202 Accepted" || resp.body != "ok" {
		t.Errorf("got %q", data[1])
	}
	if !strings.Contains(hs.stderr.String(), "superfluous WriteHeader(418)") {
		t.Errorf("stderr %q", hs.stderr.String())
	}
}

func TestBadRequestAndUnknownFrames(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	hs.send(7, 1, []byte("junk"))                                            // unknown kind: skipped
	hs.request(2, []string{"SERVER_PROTOCOL=HTTP/1.1", "REQUEST_URI=/"}, "") // no REQUEST_METHOD
	hs.send(kindRequest, 3, []byte{1, 0})                                    // too short
	hs.send(kindRequest, 4, []byte{200, 0, 0, 0, 'a'})                       // env longer than payload
	hs.request(5, getEnv("/"), "")
	data, _ := hs.collect(4)
	for _, id := range []uint32{2, 3, 4} {
		if resp := parseCGI(t, data[id]); resp.status != "500 Internal Server Error" {
			t.Errorf("id %d: %q", id, data[id])
		}
	}
	if resp := parseCGI(t, data[5]); resp.body != "ok" {
		t.Errorf("id 5: %q", data[5])
	}
	if _, ok := data[1]; ok {
		t.Errorf("response to an unknown frame kind")
	}
}

func TestIdReuseAfterEnd(t *testing.T) {
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			<-r.Context().Done()
		}
		io.WriteString(w, r.URL.Path)
	}))
	for i := 0; i < 20; i++ {
		hs.request(1, getEnv("/quick"), "")
		var got []byte
		for f := hs.next(); f.kind != kindEnd; f = hs.next() {
			got = append(got, f.payload...)
		}
		hs.mu.Lock()
		hs.ended[1] = false // the host may reuse the id after END
		hs.mu.Unlock()
		if parseCGI(t, got).body != "/quick" {
			t.Fatalf("got %q", got)
		}
	}
	// The reused id must still be cancellable.
	hs.request(1, getEnv("/wait"), "")
	hs.send(kindCancel, 1, nil)
	data, _ := hs.collect(1)
	if parseCGI(t, data[1]).body != "/wait" {
		t.Errorf("got %q", data[1])
	}
}

// recordingWriter records the individual Write calls.
type recordingWriter struct {
	mu     sync.Mutex
	writes [][]byte
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, append([]byte(nil), p...))
	w.mu.Unlock()
	return len(p), nil
}

// gatedWriter records Write calls; the first one waits until release is closed.
type gatedWriter struct {
	recordingWriter
	release chan struct{}
	first   sync.Once
}

func (w *gatedWriter) Write(p []byte) (int, error) {
	w.first.Do(func() { <-w.release })
	return w.recordingWriter.Write(p)
}

func TestWritesCarryWholeFramesAndBatchWhileAWriteIsInProgress(t *testing.T) {
	const n = 200
	var in []byte
	for i := 0; i < n; i++ {
		in = appendFrame(in, kindRequest, uint32(i), requestPayload(getEnv("/"), ""))
	}
	out := &gatedWriter{release: make(chan struct{})}
	var started sync.WaitGroup
	started.Add(n)
	s := newServer(out, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello")
		started.Done()
	}), io.Discard)
	done := make(chan error, 1)
	go func() { done <- s.run(bytes.NewReader(in)) }()
	// Every handler has run and queued its response (s.wg counts them until then)
	// while the first write is still in progress.
	started.Wait()
	s.wg.Wait()
	close(out.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	ends := 0
	for _, w := range out.writes {
		// Every write holds whole frames, and each small response's DATA
		// and END are in the same write.
		data := map[uint32]bool{}
		r := bytes.NewReader(w)
		for r.Len() > 0 {
			f, err := readFrame(r)
			if err != nil {
				t.Fatalf("write splits a frame: %v", err)
			}
			switch f.kind {
			case kindData:
				data[f.id] = true
			case kindEnd:
				if !data[f.id] {
					t.Errorf("END of %d not in the same write as its DATA", f.id)
				}
				ends++
			}
		}
	}
	if ends != n {
		t.Errorf("got %d ENDs, want %d", ends, n)
	}
	// The first write, then everything that finished meanwhile in one more.
	if len(out.writes) > 2 {
		t.Errorf("%d writes for %d responses that finished during one write", len(out.writes), n)
	}
}

func TestEOFWaitsForInflight(t *testing.T) {
	in := appendFrame(nil, kindRequest, 1, requestPayload(getEnv("/"), ""))
	var out syncBuffer
	err := newServer(&out, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(w, "late")
	}), io.Discard).run(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReader(out.String())
	f, err := readFrame(r)
	if err != nil || f.kind != kindData || !strings.HasSuffix(string(f.payload), "late") {
		t.Fatalf("got %v %q", err, f.payload)
	}
	if f, err = readFrame(r); err != nil || f.kind != kindEnd {
		t.Fatalf("want END, got %v kind %d", err, f.kind)
	}
}

func TestTruncatedInput(t *testing.T) {
	in := appendFrame(nil, kindRequest, 1, requestPayload(getEnv("/"), "body"))
	err := newServer(io.Discard, http.NotFoundHandler(), io.Discard).run(bytes.NewReader(in[:len(in)-2]))
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("got %v, want unexpected EOF", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteErrorDoesNotHang(t *testing.T) {
	var in []byte
	for i := 0; i < 100; i++ {
		in = appendFrame(in, kindRequest, uint32(i), requestPayload(getEnv("/"), ""))
	}
	errc := make(chan error, 1)
	go func() {
		errc <- newServer(failingWriter{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write(make([]byte, 100<<10))
			w.(http.Flusher).Flush()
		}), io.Discard).run(bytes.NewReader(in))
	}()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "broken pipe") {
			t.Errorf("got %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hung")
	}
}

func TestWriteAfterHandlerReturned(t *testing.T) {
	leaked := make(chan http.ResponseWriter, 1)
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked <- w
	}))
	hs.request(1, getEnv("/"), "")
	hs.collect(1)
	w := <-leaked
	if _, err := w.Write([]byte("x")); err == nil {
		t.Errorf("write after return succeeded")
	}
	w.(http.Flusher).Flush()
}

func TestContextCancelledAfterReturn(t *testing.T) {
	ctxc := make(chan context.Context, 1)
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctxc <- r.Context()
	}))
	hs.request(1, getEnv("/"), "")
	hs.collect(1)
	select {
	case <-(<-ctxc).Done():
	case <-time.After(5 * time.Second):
		t.Errorf("context not cancelled after the handler returned")
	}
}

// ---- Serve, in a child process ----

func TestMain(m *testing.M) {
	if os.Getenv("WASIADAPTER_TEST_CHILD") == "1" {
		http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "child %s %s", r.Method, r.URL.Path)
		})
		Serve(nil)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(t *testing.T, env []string, stdin []byte) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append([]string{"WASIADAPTER_TEST_CHILD=1"}, env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	return out
}

func TestServeFallsBackToCGI(t *testing.T) {
	out := runChild(t, getEnv("/plain"), nil)
	want := "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nchild GET /plain"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestServePersistent(t *testing.T) {
	var in []byte
	in = appendFrame(in, kindRequest, 1, requestPayload(getEnv("/one"), ""))
	in = appendFrame(in, kindRequest, 2, requestPayload(getEnv("/two"), ""))
	out := runChild(t, []string{"WASI_ADAPTER_PERSISTENT=1"}, in)
	r := bytes.NewReader(out)
	got := map[uint32]string{}
	ends := 0
	for r.Len() > 0 {
		f, err := readFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		if f.kind == kindEnd {
			ends++
		}
		got[f.id] += string(f.payload)
	}
	if ends != 2 || !strings.HasSuffix(got[1], "child GET /one") || !strings.HasSuffix(got[2], "child GET /two") {
		t.Errorf("got %q", got)
	}
}

// ---- benchmarks ----

// benchPipelined keeps up to depth requests in flight over pipes, sending new
// requests as responses end, the way a busy host does.
func benchPipelined(b *testing.B, depth int, h http.Handler) {
	one := appendFrame(nil, kindRequest, 0, requestPayload(getEnv("/bench?x=1",
		"HTTP_USER_AGENT=bench", "HTTP_ACCEPT=*/*", "HTTP_ACCEPT_ENCODING=gzip"), ""))
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := newServer(outW, h, io.Discard).run(inR)
		outW.Close()
		done <- err
	}()
	credits := make(chan int, b.N+depth)
	go func() {
		br := bufio.NewReaderSize(outR, 256<<10)
		for {
			f, err := readFrame(br)
			if err != nil {
				close(credits)
				return
			}
			if f.kind == kindEnd {
				credits <- 1
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	sent, inflight := 0, 0
	buf := make([]byte, 0, len(one)*depth)
	for sent < b.N {
		buf = buf[:0]
		for inflight < depth && sent < b.N {
			binary.LittleEndian.PutUint32(one[4:], uint32(sent))
			buf = append(buf, one...)
			sent++
			inflight++
		}
		inW.Write(buf)
		inflight -= <-credits
	drain:
		for {
			select {
			case c := <-credits:
				inflight -= c
			default:
				break drain
			}
		}
	}
	inW.Close()
	for range credits {
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

var helloHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, "hello world")
})

func BenchmarkPipelined1(b *testing.B)   { benchPipelined(b, 1, helloHandler) }
func BenchmarkPipelined64(b *testing.B)  { benchPipelined(b, 64, helloHandler) }
func BenchmarkPipelined512(b *testing.B) { benchPipelined(b, 512, helloHandler) }

func TestSlowClientHoldsBackOnlyItsHandler(t *testing.T) {
	const chunk = 64 << 10
	const total = 3 << 20
	written := make(chan int, total/chunk+1)
	hs := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/quick" {
			io.WriteString(w, "quick")
			return
		}
		buf := bytes.Repeat([]byte{'x'}, chunk)
		for n := 0; n < total; n += chunk {
			w.Write(buf)
			w.(http.Flusher).Flush()
			written <- n + chunk
		}
	}))
	hs.request(1, getEnv("/stream"), "")

	// Without credit the handler stops once a window's worth is unacknowledged.
	received := 0
	for received <= flowWindow {
		f := hs.next()
		if f.kind != kindData || f.id != 1 {
			t.Fatalf("got frame kind %d id %d, want DATA 1", f.kind, f.id)
		}
		received += len(f.payload)
	}
	time.Sleep(100 * time.Millisecond)
	progress := 0
	for len(written) > 0 {
		progress = <-written
	}
	if progress > flowWindow+2*chunk {
		t.Fatalf("the handler wrote %d bytes with no credit, want at most about %d", progress, flowWindow)
	}

	// Other requests on the instance are served meanwhile.
	hs.request(2, getEnv("/quick"), "")
	for {
		f := hs.next()
		if f.id == 2 && f.kind == kindEnd {
			break
		}
		if f.id != 2 {
			t.Fatalf("got frame kind %d for id %d while the slow response waits", f.kind, f.id)
		}
	}

	// Credit lets the rest through.
	var amount [4]byte
	binary.LittleEndian.PutUint32(amount[:], total)
	hs.send(kindCredit, 1, amount[:])
	for f := hs.next(); f.kind != kindEnd; f = hs.next() {
		received += len(f.payload)
	}
	if want := total + len("Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"); received < total || received > want {
		t.Fatalf("received %d bytes, want the whole %d-byte body with its header block", received, total)
	}
}
