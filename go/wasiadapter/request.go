package wasiadapter

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"unsafe"
)

var errShortRequest = errors.New("REQUEST payload shorter than its env block")

// parseRequest builds the request from a REQUEST payload: u32 envLength, the
// CGI meta-variables as NAME=value\0 repeated, then the body. The request's
// strings and body share payload's memory: payload must not change after.
func parseRequest(ctx context.Context, payload []byte) (*http.Request, error) {
	if len(payload) < 4 {
		return nil, errShortRequest
	}
	envLen := uint64(binary.LittleEndian.Uint32(payload))
	if envLen > uint64(len(payload)-4) {
		return nil, errShortRequest
	}
	var block string
	if envLen > 0 {
		block = unsafe.String(&payload[4], int(envLen))
	}
	req, err := requestFromEnv(ctx, block)
	if err != nil {
		return nil, err
	}
	if body := payload[4+envLen:]; len(body) > 0 {
		b := new(requestBody)
		b.Reset(body)
		req.Body = b
		req.ContentLength = int64(len(body))
	} else {
		req.Body = http.NoBody
		req.ContentLength = 0
	}
	return req, nil
}

// cgiEnv holds the meta-variables requestFromEnv uses besides the HTTP_ ones.
type cgiEnv struct {
	method, proto, host, contentLength, contentType string
	requestURI, scriptName, pathInfo, queryString   string
	https, remoteAddr, remotePort                   string
}

// requestFromEnv builds a request from a NAME=value\0 block with the result
// of cgi.RequestFromMap, without the map: it reads the block once, and the
// strings it keeps share the block's memory. The host sends each name once.
// The request is built on the stack and copied to the heap once, with ctx.
func requestFromEnv(ctx context.Context, block string) (*http.Request, error) {
	// Every header value gets a one-element slice of one shared backing array
	// (capacity-limited, so a handler's append copies instead of overwriting
	// its neighbour): one allocation for all values instead of one each.
	n := strings.Count(block, "\x00HTTP_") + 2 // +2: a first entry has no NUL before it; CONTENT_TYPE
	values := make([]string, 0, n)
	r := http.Request{Header: make(http.Header, n), Trailer: http.Header{}, Close: true}
	var e cgiEnv
	for len(block) > 0 {
		kv := block
		if i := strings.IndexByte(block, 0); i >= 0 {
			kv, block = block[:i], block[i+1:]
		} else {
			block = ""
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if name, isHeader := strings.CutPrefix(k, "HTTP_"); isHeader {
			if name == "HOST" {
				e.host = v
			} else {
				key := headerKey(name)
				if old, seen := r.Header[key]; seen {
					r.Header[key] = append(old, v)
				} else {
					values = append(values, v)
					r.Header[key] = values[len(values)-1 : len(values) : len(values)]
				}
			}
			continue
		}
		switch k {
		case "REQUEST_METHOD":
			e.method = v
		case "SERVER_PROTOCOL":
			e.proto = v
		case "CONTENT_LENGTH":
			e.contentLength = v
		case "CONTENT_TYPE":
			e.contentType = v
		case "REQUEST_URI":
			e.requestURI = v
		case "SCRIPT_NAME":
			e.scriptName = v
		case "PATH_INFO":
			e.pathInfo = v
		case "QUERY_STRING":
			e.queryString = v
		case "HTTPS":
			e.https = v
		case "REMOTE_ADDR":
			e.remoteAddr = v
		case "REMOTE_PORT":
			e.remotePort = v
		}
	}

	r.Method = e.method
	if r.Method == "" {
		return nil, errors.New("cgi: no REQUEST_METHOD in environment")
	}
	r.Proto = e.proto
	if r.Proto == "INCLUDED" {
		r.ProtoMajor, r.ProtoMinor = 1, 0
	} else {
		var ok bool
		if r.ProtoMajor, r.ProtoMinor, ok = http.ParseHTTPVersion(r.Proto); !ok {
			return nil, errors.New("cgi: invalid SERVER_PROTOCOL version")
		}
	}
	r.Host = e.host
	if e.contentLength != "" {
		n, err := strconv.ParseInt(e.contentLength, 10, 64)
		if err != nil {
			return nil, errors.New("cgi: bad CONTENT_LENGTH in environment: " + e.contentLength)
		}
		r.ContentLength = n
	}
	if e.contentType != "" {
		values = append(values, e.contentType)
		r.Header["Content-Type"] = values[len(values)-1 : len(values) : len(values)]
	}

	uri := e.requestURI
	if uri == "" {
		uri = e.scriptName + e.pathInfo
		if e.queryString != "" {
			uri += "?" + e.queryString
		}
	}
	if e.https == "on" || e.https == "ON" || e.https == "1" {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	}
	u, err := requestURL(r.Host, uri, r.TLS != nil)
	if err != nil {
		return nil, err
	}
	r.URL = u
	r.RemoteAddr = net.JoinHostPort(e.remoteAddr, remotePort(e.remotePort))
	return r.WithContext(ctx), nil
}

// requestURL is url.Parse of scheme://host + uri (of uri alone without a
// host), as cgi.RequestFromMap builds it. A plain host (name or IPv4 address,
// optional port) before a path is not parsed: it is what url.Parse would
// keep, and only the path and query are parsed.
func requestURL(host, uri string, https bool) (*url.URL, error) {
	if host == "" {
		u, err := url.Parse(uri)
		if err != nil {
			return nil, errors.New("cgi: failed to parse REQUEST_URI into a URL: " + uri)
		}
		return u, nil
	}
	scheme := "http"
	if https {
		scheme = "https"
	}
	if plainHost(host) && strings.HasPrefix(uri, "/") && !strings.HasPrefix(uri, "//") {
		if u, err := url.Parse(uri); err == nil {
			u.Scheme, u.Host = scheme, host
			return u, nil
		}
	}
	raw := scheme + "://" + host + uri
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("cgi: failed to parse host and REQUEST_URI into a URL: " + raw)
	}
	return u, nil
}

// plainHost reports whether host is letters, digits, '-' and '.', then
// optionally ':' and a port of digits.
func plainHost(host string) bool {
	name, port, hasPort := strings.Cut(host, ":")
	if name == "" || (hasPort && port == "") {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return allDigits(port)
}

// remotePort is REMOTE_PORT as cgi.RequestFromMap puts it in RemoteAddr: the
// number it parses to, 0 if it does not.
func remotePort(v string) string {
	if len(v) > 0 && len(v) < 6 && (v[0] != '0' || len(v) == 1) && allDigits(v) {
		return v
	}
	port, _ := strconv.Atoi(v)
	return strconv.Itoa(port)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// commonHeaders maps the CGI spelling of frequent request headers (USER_AGENT)
// to their canonical key (User-Agent), so that they cost no allocation.
var commonHeaders = func() map[string]string {
	keys := []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Cookie", "Dnt", "If-Modified-Since", "If-None-Match", "Origin", "Pragma", "Priority",
		"Referer", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest",
		"Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Upgrade-Insecure-Requests",
		"User-Agent", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		"X-Real-Ip", "X-Requested-With",
	}
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		m[strings.ToUpper(strings.ReplaceAll(k, "-", "_"))] = k
	}
	return m
}()

// headerKey is the canonical header key of the name of an HTTP_ variable
// (without the prefix), as http.Header.Add would make it.
func headerKey(name string) string {
	if key, ok := commonHeaders[name]; ok {
		return key
	}
	return textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-"))
}

// requestBody is the in-memory request body.
type requestBody struct {
	bytes.Reader
}

func (*requestBody) Close() error { return nil }
