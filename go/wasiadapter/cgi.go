package wasiadapter

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// serveCGI serves the one request of a classic CGI run: the meta-variables
// are in environ, the body (CONTENT_LENGTH bytes) on stdin. The request goes
// through the persistent-mode server as a single REQUEST frame, so both modes
// build requests and write responses the same way; the DATA frames' payloads
// go to stdout. (Importing net/http/cgi instead would add its regexp and
// unicode tables to every instance's start-up.)
func serveCGI(h http.Handler, environ []string, stdin io.Reader, stdout io.Writer, errLog io.Writer) error {
	block := strings.Join(environ, "\x00")
	var body []byte
	if n, err := strconv.ParseInt(lookupEnv(environ, "CONTENT_LENGTH"), 10, 64); err == nil && n > 0 {
		if body, err = io.ReadAll(io.LimitReader(stdin, n)); err != nil {
			return err
		}
	}
	frame := appendFrameHeader(nil, kindRequest, 0, 4+len(block)+len(body))
	frame = binary.LittleEndian.AppendUint32(frame, uint32(len(block)))
	frame = append(append(frame, block...), body...)
	out := &cgiOutput{w: stdout}
	s := newServer(out, h, errLog)
	out.srv = s
	return s.run(bytes.NewReader(frame))
}

func lookupEnv(environ []string, name string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, name); ok && strings.HasPrefix(v, "=") {
			return v[1:]
		}
	}
	return ""
}

// cgiOutput writes the payloads of the DATA frames written to it to w, and
// credits them at once: bytes written to stdout are passed on.
type cgiOutput struct {
	w    io.Writer
	srv  *server
	hdr  [frameHeaderSize]byte
	nhdr int    // header bytes of the current frame seen so far
	left uint32 // payload bytes of the current frame still to come
	data bool   // the current frame is DATA
	id   uint32
}

func (o *cgiOutput) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		if o.nhdr < frameHeaderSize {
			n := copy(o.hdr[o.nhdr:], p)
			o.nhdr += n
			p = p[n:]
			if o.nhdr == frameHeaderSize {
				o.data = binary.LittleEndian.Uint32(o.hdr[0:4]) == kindData
				o.id = binary.LittleEndian.Uint32(o.hdr[4:8])
				o.left = binary.LittleEndian.Uint32(o.hdr[8:12])
				if o.left == 0 {
					o.nhdr = 0
				}
			}
			continue
		}
		n := min(uint32(len(p)), o.left)
		if o.data {
			if _, err := o.w.Write(p[:n]); err != nil {
				return total - len(p), err
			}
			o.srv.credit(o.id, n)
		}
		p = p[n:]
		if o.left -= n; o.left == 0 {
			o.nhdr = 0
		}
	}
	return total, nil
}
