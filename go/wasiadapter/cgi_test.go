package wasiadapter

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func runCGI(t *testing.T, h http.Handler, env []string, stdin string) (string, string) {
	t.Helper()
	var out, errLog bytes.Buffer
	if err := serveCGI(h, env, strings.NewReader(stdin), &out, &errLog); err != nil {
		t.Fatal(err)
	}
	return out.String(), errLog.String()
}

func TestCGIReadsTheBodyOfContentLength(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, r.Method+" "+r.URL.String()+" "+strconv.FormatInt(r.ContentLength, 10)+" "+string(b))
	})
	env := append(getEnv("/post?a=1"), "CONTENT_LENGTH=5", "CONTENT_TYPE=text/plain", "PATH=/bin")
	env[0] = "REQUEST_METHOD=POST"
	out, _ := runCGI(t, h, env, "hello and more")
	want := "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nPOST http://example.com/post?a=1 5 hello"
	if out != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

func TestCGIStreamsFlushesAndResponsesBeyondTheFlowWindow(t *testing.T) {
	chunk := strings.Repeat("x", 64<<10)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 2*flowWindow/len(chunk); i++ {
			io.WriteString(w, chunk)
			w.(http.Flusher).Flush()
		}
	})
	out, _ := runCGI(t, h, getEnv("/big"), "")
	head, body, _ := strings.Cut(out, "\r\n\r\n")
	if head != "Status: 200 OK\r\nContent-Type: text/plain; charset=utf-8" || len(body) != 2*flowWindow || strings.Trim(body, "x") != "" {
		t.Errorf("got head %q and %d body bytes", head, len(body))
	}
}

func TestCGIPanicAndBadEnvironmentAnswer500(t *testing.T) {
	out, log := runCGI(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }), getEnv("/p"), "")
	if !strings.HasPrefix(out, "Status: 500 Internal Server Error\r\n") || !strings.Contains(log, "panic serving GET http://example.com/p: boom") {
		t.Errorf("panic: got %q, log %q", out, log)
	}
	out, log = runCGI(t, http.NotFoundHandler(), []string{"SERVER_PROTOCOL=HTTP/1.1"}, "")
	if !strings.HasPrefix(out, "Status: 500 Internal Server Error\r\n") || !strings.Contains(log, "REQUEST_METHOD") {
		t.Errorf("bad environment: got %q, log %q", out, log)
	}
}
