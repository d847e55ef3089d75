package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"
)

// SMTPConfig is a parsed smtp:// or smtps:// target:
// smtp://[user@]host[:port]?from=ADDR&to=ADDR[,ADDR…][&starttls=auto|always|never].
// smtps:// is TLS from the first byte (port 465 by default); smtp:// uses
// STARTTLS when the server offers it (auto), always, or never.
type SMTPConfig struct {
	Host     string
	Port     string
	Implicit bool // smtps
	StartTLS string
	User     string
	Password string
	From     string
	To       []string
}

// ParseSMTP parses an SMTP target URL. A password in the URL is accepted
// but a password file is better: the URL is in the configuration file.
func ParseSMTP(s string) (*SMTPConfig, error) {
	u, err := url.Parse(s)
	if err != nil {
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	c := &SMTPConfig{Host: u.Hostname(), Port: u.Port(), StartTLS: "auto"}
	switch u.Scheme {
	case "smtp":
		if c.Port == "" {
			c.Port = "25"
		}
	case "smtps":
		c.Implicit = true
		if c.Port == "" {
			c.Port = "465"
		}
	default:
		return nil, fmt.Errorf("%w: want smtp:// or smtps://", ErrBadURL)
	}
	if c.Host == "" {
		return nil, fmt.Errorf("%w: no host", ErrBadURL)
	}
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q := u.Query()
	if v := q.Get("starttls"); v != "" {
		if v != "auto" && v != "always" && v != "never" {
			return nil, fmt.Errorf("%w: starttls=%s: want auto, always or never", ErrBadURL, v)
		}
		c.StartTLS = v
	}
	for _, to := range strings.Split(q.Get("to"), ",") {
		if to = strings.TrimSpace(to); to == "" {
			continue
		}
		a, err := mail.ParseAddress(to)
		if err != nil {
			return nil, fmt.Errorf("%w: to=%s: %v", ErrBadURL, to, err)
		}
		c.To = append(c.To, a.Address)
	}
	if len(c.To) == 0 {
		return nil, fmt.Errorf("%w: no recipient: add ?to=ADDRESS", ErrBadURL)
	}
	c.From = q.Get("from")
	if c.From == "" {
		c.From = "cairn@" + hostnameOr("localhost")
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		return nil, fmt.Errorf("%w: from=%s: %v", ErrBadURL, c.From, err)
	}
	return c, nil
}

// SMTP sends the event as a plain-text mail.
type SMTP struct {
	Config SMTPConfig
	// TLS is used for smtps and STARTTLS; nil means verify against the
	// system roots with the server's host name.
	TLS *tls.Config
	// Now dates the message; nil means time.Now.
	Now func() time.Time
}

// String names the target without credentials.
func (s *SMTP) String() string {
	return fmt.Sprintf("smtp %s:%s", s.Config.Host, s.Config.Port)
}

// Send delivers one mail. The connection's deadline is the context's, so a
// silent server cannot hold the run past the target's timeout.
func (s *SMTP) Send(ctx context.Context, ev Event) error {
	c := s.Config
	addr := net.JoinHostPort(c.Host, c.Port)
	tcfg := s.TLS
	if tcfg == nil {
		tcfg = &tls.Config{ServerName: c.Host}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Closing the connection when the context ends unblocks a read that
	// waits on a server which accepted but says nothing.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if c.Implicit {
		conn = tls.Client(conn, tcfg)
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		return fmt.Errorf("%s: greeting: %w", s, err)
	}
	defer cl.Close()
	if err := cl.Hello(hostnameOr("localhost")); err != nil {
		return fmt.Errorf("%s: EHLO: %w", s, err)
	}
	if !c.Implicit && c.StartTLS != "never" {
		if ok, _ := cl.Extension("STARTTLS"); ok {
			if err := cl.StartTLS(tcfg); err != nil {
				return fmt.Errorf("%s: STARTTLS: %w", s, err)
			}
		} else if c.StartTLS == "always" {
			return fmt.Errorf("%s: server does not offer STARTTLS: %w", s, errPermanent)
		}
	}
	if c.User != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.User, c.Password, c.Host)); err != nil {
			return fmt.Errorf("%s: AUTH: %w", s, err)
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return fmt.Errorf("%s: MAIL FROM: %w", s, err)
	}
	for _, to := range c.To {
		if err := cl.Rcpt(to); err != nil {
			return fmt.Errorf("%s: RCPT TO %s: %w", s, to, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("%s: DATA: %w", s, err)
	}
	if _, err := w.Write(s.message(ev)); err != nil {
		return fmt.Errorf("%s: write: %w", s, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: end of data: %w", s, err)
	}
	return cl.Quit()
}

// message is an RFC 5322 plain-text mail with CRLF line ends.
func (s *SMTP) message(ev Event) []byte {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", s.Config.From)
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(s.Config.To, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mimeHeader(ev.Title()))
	fmt.Fprintf(&b, "Date: %s\r\n", now().Format(time.RFC1123Z))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n")
	fmt.Fprintf(&b, "X-Cairn-Event: %s\r\nX-Cairn-Profile: %s\r\n\r\n", ev.Kind, mimeHeader(ev.Profile))
	for _, line := range strings.Split(strings.TrimRight(ev.Text(), "\n"), "\n") {
		b.WriteString(line)
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// mimeHeader keeps a header value on one line and encodes non-ASCII text.
func mimeHeader(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	for _, r := range s {
		if r > 127 {
			return mime.QEncoding.Encode("utf-8", s)
		}
	}
	return s
}
