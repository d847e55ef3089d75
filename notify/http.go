package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTPClient is the part of *http.Client the webhook senders use.
type HTTPClient interface {
	Do(*http.Request) (*http.Response, error)
}

// NewHTTPClient returns a client whose every request ends within timeout
// even if the caller's context has none.
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Timeout: timeout}
}

// Format turns an event into a request body for one chat service.
type Format func(Event) any

// Webhook POSTs a JSON body built by Format to a URL: the generic webhook
// (the Event itself), Slack, Discord and Teams differ only in the body.
type Webhook struct {
	Kind   string // "webhook", "slack", "discord", "teams": for logs
	URL    string
	Format Format
	Client HTTPClient
}

// NewWebhook returns the sender for kind ("webhook", "slack", "discord",
// "teams").
func NewWebhook(kind, target string, client HTTPClient) (*Webhook, error) {
	f, ok := map[string]Format{"webhook": genericBody, "slack": slackBody, "discord": discordBody, "teams": teamsBody}[kind]
	if !ok {
		return nil, fmt.Errorf("%w: unknown kind %q", ErrBadURL, kind)
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %s wants an http(s) URL", ErrBadURL, kind)
	}
	return &Webhook{Kind: kind, URL: target, Format: f, Client: client}, nil
}

// String names the target by scheme and host only: chat webhook URLs carry
// their secret token in the path.
func (w *Webhook) String() string {
	u, err := url.Parse(w.URL)
	if err != nil {
		return w.Kind
	}
	return fmt.Sprintf("%s %s://%s", w.Kind, u.Scheme, u.Host)
}

// Send posts the event once.
func (w *Webhook) Send(ctx context.Context, ev Event) error {
	body, err := json.Marshal(w.Format(ev))
	if err != nil {
		return fmt.Errorf("%s: encode: %w", w, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %w", w, errPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cairn")
	resp, err := w.Client.Do(req)
	if err != nil {
		// The URL is in err; it may hold a token.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("%s: %w", w, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusRequestTimeout:
		return fmt.Errorf("%s: %s: %s: %w", w, resp.Status, bytes.TrimSpace(snippet), errPermanent)
	}
	return fmt.Errorf("%s: %s: %s", w, resp.Status, bytes.TrimSpace(snippet))
}

func genericBody(ev Event) any { return ev }

// slackBody is an incoming-webhook message.
func slackBody(ev Event) any {
	return map[string]any{"text": fmt.Sprintf("%s *%s*\n%s", emoji(ev.Kind), ev.Title(), ev.Text())}
}

// discordBody is an execute-webhook message; content is capped at Discord's
// 2000 characters.
func discordBody(ev Event) any {
	text := fmt.Sprintf("%s **%s**\n%s", emoji(ev.Kind), ev.Title(), ev.Text())
	if r := []rune(text); len(r) > 1990 {
		text = string(r[:1990]) + "…"
	}
	return map[string]any{"username": "cairn", "content": text}
}

// teamsBody is an Adaptive Card message, the format Teams workflow
// webhooks accept.
func teamsBody(ev Event) any {
	color := map[Kind]string{Success: "Good", Warning: "Warning", Failure: "Attention"}[ev.Kind]
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"body": []any{
			map[string]any{"type": "TextBlock", "size": "Medium", "weight": "Bolder", "color": color, "text": ev.Title()},
			map[string]any{"type": "TextBlock", "wrap": true, "text": ev.Text()},
		},
	}
	return map[string]any{"type": "message", "attachments": []any{
		map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card},
	}}
}

func emoji(k Kind) string {
	switch k {
	case Success:
		return "✅"
	case Warning:
		return "⚠️"
	}
	return "❌"
}
