package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Push replaces the group job/<job>/profile/<profile>/host/<host> on the
// Pushgateway at base with r's metrics (HTTP PUT, as the Pushgateway API
// defines). client should carry a timeout; ctx bounds the request too.
func Push(ctx context.Context, client *http.Client, base, job string, r Run) error {
	if job == "" {
		job = "cairn"
	}
	var buf bytes.Buffer
	if err := Render(&buf, r); err != nil {
		return err
	}
	u := strings.TrimRight(base, "/") + "/metrics/job/" + url.PathEscape(job) +
		"/profile/" + url.PathEscape(r.Profile) + "/host/" + url.PathEscape(r.Host)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, &buf)
	if err != nil {
		return fmt.Errorf("pushgateway: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("pushgateway: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("pushgateway: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}
