package wasiadapter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/cgi"
	"strings"
)

var errShortRequest = errors.New("REQUEST payload shorter than its env block")

// parseRequest builds the request from a REQUEST payload: u32 envLength, the
// CGI meta-variables as NAME=value\0 repeated, then the body.
func parseRequest(payload []byte) (*http.Request, error) {
	if len(payload) < 4 {
		return nil, errShortRequest
	}
	envLen := uint64(binary.LittleEndian.Uint32(payload))
	if envLen > uint64(len(payload)-4) {
		return nil, errShortRequest
	}
	req, err := cgi.RequestFromMap(parseEnv(payload[4 : 4+envLen]))
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

// parseEnv splits a NAME=value\0 block into a map. All keys and values share
// one string allocation.
func parseEnv(block []byte) map[string]string {
	env := make(map[string]string, bytes.Count(block, []byte{0})+1)
	s := string(block)
	for len(s) > 0 {
		kv := s
		if i := strings.IndexByte(s, 0); i >= 0 {
			kv, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			env[k] = v
		}
	}
	return env
}

// requestBody is the in-memory request body.
type requestBody struct {
	bytes.Reader
}

func (*requestBody) Close() error { return nil }
