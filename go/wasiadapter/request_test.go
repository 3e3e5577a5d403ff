package wasiadapter

import (
	"context"
	"net/http/cgi"
	"net/textproto"
	"reflect"
	"strings"
	"testing"
)

// requestFromEnv must build what cgi.RequestFromMap builds from the same variables.
func TestRequestFromEnvMatchesRequestFromMap(t *testing.T) {
	base := map[string]string{
		"REQUEST_METHOD":         "POST",
		"SERVER_PROTOCOL":        "HTTP/1.1",
		"HTTP_HOST":              "example.com",
		"REQUEST_URI":            "/api/x?a=1&a=2",
		"CONTENT_LENGTH":         "5",
		"CONTENT_TYPE":           "text/plain",
		"HTTP_USER_AGENT":        "test",
		"HTTP_X_MULTI_WORD_NAME": "v",
		"HTTP_ACCEPT":            "a, b",
		"REMOTE_ADDR":            "10.0.0.1",
		"REMOTE_PORT":            "4242",
		"SCRIPT_NAME":            "/api/x",
		"QUERY_STRING":           "a=1&a=2",
	}
	with := func(changes map[string]string) map[string]string {
		env := make(map[string]string, len(base))
		for k, v := range base {
			env[k] = v
		}
		for k, v := range changes {
			if v == "<unset>" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
		return env
	}
	cases := map[string]map[string]string{
		"plain":                base,
		"https on":             with(map[string]string{"HTTPS": "on"}),
		"https ON":             with(map[string]string{"HTTPS": "ON"}),
		"https 1":              with(map[string]string{"HTTPS": "1"}),
		"https off":            with(map[string]string{"HTTPS": "off"}),
		"no host":              with(map[string]string{"HTTP_HOST": "<unset>"}),
		"no request uri":       with(map[string]string{"REQUEST_URI": "<unset>", "PATH_INFO": "/more"}),
		"no query":             with(map[string]string{"REQUEST_URI": "<unset>", "QUERY_STRING": "<unset>"}),
		"proto included":       with(map[string]string{"SERVER_PROTOCOL": "INCLUDED"}),
		"http/1.0":             with(map[string]string{"SERVER_PROTOCOL": "HTTP/1.0"}),
		"bad proto":            with(map[string]string{"SERVER_PROTOCOL": "HTTP/x"}),
		"no method":            with(map[string]string{"REQUEST_METHOD": "<unset>"}),
		"bad content length":   with(map[string]string{"CONTENT_LENGTH": "five"}),
		"no content headers":   with(map[string]string{"CONTENT_LENGTH": "<unset>", "CONTENT_TYPE": "<unset>"}),
		"ipv6 remote":          with(map[string]string{"REMOTE_ADDR": "::1"}),
		"bad remote port":      with(map[string]string{"REMOTE_PORT": "x"}),
		"host that breaks URL": with(map[string]string{"HTTP_HOST": "exa mple.com%zz"}),
		"bad uri":              with(map[string]string{"HTTP_HOST": "<unset>", "REQUEST_URI": "%zz"}),
		"value with =":         with(map[string]string{"HTTP_COOKIE": "a=b; c=d"}),
		"empty header value":   with(map[string]string{"HTTP_X_EMPTY": ""}),
		"host with port":       with(map[string]string{"HTTP_HOST": "Example.COM:8080"}),
		"ipv6 host":            with(map[string]string{"HTTP_HOST": "[::1]:3000"}),
		"host with empty port": with(map[string]string{"HTTP_HOST": "example.com:"}),
		"host with bad port":   with(map[string]string{"HTTP_HOST": "example.com:8x"}),
		"host with user":       with(map[string]string{"HTTP_HOST": "u@example.com"}),
		"escaped path":         with(map[string]string{"REQUEST_URI": "/a%20b/c%2Fd?x=%41"}),
		"path with fragment":   with(map[string]string{"REQUEST_URI": "/p?q=1#f"}),
		"path starting //":     with(map[string]string{"REQUEST_URI": "//other/p"}),
		"bad escape in path":   with(map[string]string{"REQUEST_URI": "/p%zz"}),
		"asterisk uri":         with(map[string]string{"REQUEST_URI": "*"}),
		"control char in uri":  with(map[string]string{"REQUEST_URI": "/p\x7f"}),
		"remote port 0":        with(map[string]string{"REMOTE_PORT": "0"}),
		"remote port 007":      with(map[string]string{"REMOTE_PORT": "007"}),
		"remote port +5":       with(map[string]string{"REMOTE_PORT": "+5"}),
		"remote port huge":     with(map[string]string{"REMOTE_PORT": "123456789012"}),
		"no remote port":       with(map[string]string{"REMOTE_PORT": "<unset>"}),
	}
	for name, env := range cases {
		t.Run(name, func(t *testing.T) {
			var block strings.Builder
			for k, v := range env {
				block.WriteString(k + "=" + v + "\x00")
			}
			got, gotErr := requestFromEnv(context.Background(), block.String())
			want, wantErr := cgi.RequestFromMap(env)
			if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("error: got %v, want %v", gotErr, wantErr)
			}
			if wantErr != nil {
				return
			}
			check := func(field string, g, w any) {
				if !reflect.DeepEqual(g, w) {
					t.Errorf("%s: got %#v, want %#v", field, g, w)
				}
			}
			check("Method", got.Method, want.Method)
			check("Proto", [3]any{got.Proto, got.ProtoMajor, got.ProtoMinor}, [3]any{want.Proto, want.ProtoMajor, want.ProtoMinor})
			check("Host", got.Host, want.Host)
			check("ContentLength", got.ContentLength, want.ContentLength)
			check("Header", got.Header, want.Header)
			check("Trailer", got.Trailer, want.Trailer)
			check("URL", got.URL.String(), want.URL.String())
			check("TLS", got.TLS, want.TLS)
			check("RemoteAddr", got.RemoteAddr, want.RemoteAddr)
			check("Close", got.Close, want.Close)
		})
	}
}

func TestRequestFromEnvSkipsMalformedEntries(t *testing.T) {
	r, err := requestFromEnv(context.Background(), "REQUEST_METHOD=GET\x00junk\x00=x\x00SERVER_PROTOCOL=HTTP/1.1\x00REQUEST_URI=/p\x00HTTP_X_A=1")
	if err != nil {
		t.Fatal(err)
	}
	if r.URL.Path != "/p" || r.Header.Get("X-A") != "1" || len(r.Header) != 1 {
		t.Fatalf("got URL %q, header %v", r.URL, r.Header)
	}
}

type ctxKey struct{}

func TestRequestFromEnvCarriesContext(t *testing.T) {
	ctx := context.WithValue(context.Background(), ctxKey{}, "job")
	r, err := requestFromEnv(ctx, "REQUEST_METHOD=GET\x00SERVER_PROTOCOL=HTTP/1.1\x00REQUEST_URI=/p")
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Context().Value(ctxKey{}); got != "job" {
		t.Fatalf("r.Context() value = %v, want the context passed in", got)
	}
}

// Every shortcut in commonHeaders must be what canonicalization would give.
func TestCommonHeadersAreCanonical(t *testing.T) {
	for name, key := range commonHeaders {
		if want := textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-")); key != want {
			t.Errorf("commonHeaders[%q] = %q, want %q", name, key, want)
		}
	}
}

// A browser-like request: its header values share one allocation, and a
// handler appending to one value does not change another.
const browserEnv = "REQUEST_METHOD=GET\x00SERVER_PROTOCOL=HTTP/1.1\x00REQUEST_URI=/p?q=1\x00HTTP_HOST=example.com\x00" +
	"HTTP_ACCEPT=text/html\x00HTTP_ACCEPT_ENCODING=gzip, br\x00HTTP_ACCEPT_LANGUAGE=en\x00HTTP_CACHE_CONTROL=no-cache\x00" +
	"HTTP_COOKIE=a=1\x00HTTP_PRAGMA=no-cache\x00HTTP_REFERER=https://example.com/\x00HTTP_SEC_FETCH_DEST=document\x00" +
	"HTTP_SEC_FETCH_MODE=navigate\x00HTTP_SEC_FETCH_SITE=same-origin\x00HTTP_USER_AGENT=test\x00HTTP_X_CUSTOM_NAME=x\x00" +
	"CONTENT_TYPE=text/plain\x00REMOTE_ADDR=10.0.0.1\x00REMOTE_PORT=4242\x00"

func TestRequestHeaderValuesAreIndependent(t *testing.T) {
	r, err := requestFromEnv(context.Background(), browserEnv)
	if err != nil {
		t.Fatal(err)
	}
	r.Header["Accept"] = append(r.Header["Accept"], "extra")
	r.Header.Add("Cookie", "b=2")
	if got := r.Header.Values("Accept-Encoding"); len(got) != 1 || got[0] != "gzip, br" {
		t.Errorf("Accept-Encoding = %q after appending to Accept", got)
	}
	if got := r.Header.Values("Accept-Language"); len(got) != 1 || got[0] != "en" {
		t.Errorf("Accept-Language = %q after adding to Cookie", got)
	}
	if got := r.Header.Values("Cookie"); len(got) != 2 || got[1] != "b=2" {
		t.Errorf("Cookie = %q", got)
	}
	if r.Header.Get("Content-Type") != "text/plain" || r.Header.Get("X-Custom-Name") != "x" || len(r.Header) != 13 {
		t.Errorf("header = %v", r.Header)
	}
}

// The number of allocations does not grow with the number of headers.
func TestRequestFromEnvAllocations(t *testing.T) {
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := requestFromEnv(context.Background(), browserEnv); err != nil {
			t.Fatal(err)
		}
	})
	// 13 with Go 1.26: the request, its maps, the values, one uncommon key, the
	// URL and RemoteAddr. One allocation per header value would be 25 or more.
	if allocs > 16 {
		t.Errorf("requestFromEnv made %v allocations for 13 headers, want at most 16", allocs)
	}
}

// What the host sends for a request with no headers but Host (a load generator's).
const plainEnv = "HTTP_HOST=127.0.0.1:3000\x00GATEWAY_INTERFACE=CGI/1.1\x00SERVER_SOFTWARE=wasi-adapter\x00" +
	"SERVER_PROTOCOL=HTTP/1.1\x00SERVER_NAME=127.0.0.1\x00SERVER_PORT=3000\x00REQUEST_METHOD=GET\x00" +
	"REQUEST_URI=/api/hello?name=bench\x00SCRIPT_NAME=\x00PATH_INFO=/api/hello\x00QUERY_STRING=name=bench\x00" +
	"REMOTE_ADDR=127.0.0.1\x00REMOTE_HOST=127.0.0.1\x00REMOTE_PORT=51234\x00"

func BenchmarkRequestFromEnv(b *testing.B) {
	for name, env := range map[string]string{"plain": plainEnv, "browser": browserEnv} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := requestFromEnv(context.Background(), env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
