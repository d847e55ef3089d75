package notify

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// mailServer is a minimal SMTP server on loopback that speaks enough of
// RFC 5321 for net/smtp: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, QUIT.
type mailServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []receivedMail
	// failRcpt answers RCPT with this reply when set.
	failRcpt string
}

type receivedMail struct {
	From, Auth string
	To         []string
	Data       string
}

func newMailServer(t *testing.T) *mailServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &mailServer{ln: ln}
	go s.serve()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *mailServer) addr() (host, port string) {
	h, p, _ := net.SplitHostPort(s.ln.Addr().String())
	return h, p
}

func (s *mailServer) mails() []receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedMail(nil), s.msgs...)
}

func (s *mailServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *mailServer) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(format string, a ...any) { fmt.Fprintf(c, format+"\r\n", a...) }
	say("220 test ESMTP")
	var cur receivedMail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0])
		switch verb {
		case "EHLO", "HELO":
			say("250-test greets you")
			say("250 AUTH PLAIN")
		case "AUTH":
			f := strings.Fields(line)
			if len(f) == 3 {
				raw, _ := base64.StdEncoding.DecodeString(f[2])
				cur.Auth = strings.ReplaceAll(string(raw), "\x00", "|")
			}
			say("235 ok")
		case "MAIL":
			cur.From = strings.TrimSuffix(strings.TrimPrefix(line[len("MAIL FROM:"):], "<"), ">")
			say("250 ok")
		case "RCPT":
			if s.failRcpt != "" {
				say("%s", s.failRcpt)
				continue
			}
			cur.To = append(cur.To, strings.TrimSuffix(strings.TrimPrefix(line[len("RCPT TO:"):], "<"), ">"))
			say("250 ok")
		case "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.Data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			s.mu.Unlock()
			cur = receivedMail{}
			say("250 queued")
		case "RSET", "NOOP":
			say("250 ok")
		case "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}
