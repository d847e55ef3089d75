package vmware

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// Config says how to reach vCenter (or an ESXi host). Credentials are
// passed here by the caller, never taken from a URL's user part, so that
// they cannot leak into logs or snapshot metadata through the URL.
type Config struct {
	// URL is the vCenter address: "https://host", "host" or a full
	// ".../sdk" URL.
	URL      string
	User     string
	Password string
	// Insecure skips certificate verification (self-signed certificates).
	Insecure bool
	// CAFile names PEM CA certificates to trust besides the system's.
	CAFile string
}

// Client is a logged-in vSphere connection.
type Client struct {
	vim *vim25.Client
	sm  *session.Manager
	// host is the vCenter host name, recorded in snapshot details.
	host string
}

// ParseURL normalises a vCenter address to its SDK URL, dropping any
// user information.
func ParseURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("vcenter url: %w", err)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("vcenter url %q has no host", s)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/sdk"
	}
	u.User = nil
	return u, nil
}

// Connect logs in to vCenter.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	sc := soap.NewClient(u, cfg.Insecure)
	if cfg.CAFile != "" {
		if err := sc.SetRootCAs(cfg.CAFile); err != nil {
			return nil, fmt.Errorf("vcenter CA file: %w", err)
		}
	}
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u.Host, err)
	}
	sm := session.NewManager(vc)
	if err := sm.Login(ctx, url.UserPassword(cfg.User, cfg.Password)); err != nil {
		// The error names the user at most, never the password.
		return nil, fmt.Errorf("log in to %s as %q: %w", u.Host, cfg.User, err)
	}
	return &Client{vim: vc, sm: sm, host: u.Hostname()}, nil
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	return c.sm.Logout(ctx)
}

// Host returns the vCenter host name.
func (c *Client) Host() string { return c.host }
