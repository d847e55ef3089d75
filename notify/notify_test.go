package notify

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func sampleEvent(k Kind) Event {
	t0 := time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)
	return Event{
		Version: 1, Kind: k, Profile: "nightly", Host: "db1", Repository: "/srv/repo", ExitCode: 0,
		Started: t0, Finished: t0.Add(90 * time.Second), DurationSeconds: 90,
		Snapshots: []Snapshot{{Source: "fs", SnapshotID: "0123456789abcdef"}},
		FilesNew:  3, BytesRead: 1000, BytesAdded: 400, Check: "ok",
		Steps:   []StepResult{{Name: "backup fs", Status: "ok", DurationSeconds: 80}},
		Message: "nightly@db1: success",
	}
}

func TestWebhookJSON(t *testing.T) {
	got := make(chan map[string]any, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("method %s content type %q", r.Method, r.Header.Get("Content-Type"))
		}
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Error(err)
		}
		got <- m
	}))
	defer srv.Close()
	w, err := NewWebhook("webhook", srv.URL+"/hook", NewHTTPClient(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	res := Dispatch(context.Background(), []Target{{Sender: w, On: []Kind{Success}}}, sampleEvent(Success))
	if len(res) != 1 || res[0].Err != nil {
		t.Fatalf("results %+v", res)
	}
	m := <-got
	for k, want := range map[string]any{"event": "success", "profile": "nightly", "host": "db1", "exit_code": 0.0, "files_new": 3.0, "check": "ok", "version": 1.0} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	sn := m["snapshots"].([]any)[0].(map[string]any)
	if sn["snapshot_id"] != "0123456789abcdef" || sn["source"] != "fs" {
		t.Errorf("snapshots %v", sn)
	}
}

func TestEventsFiltered(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	w, _ := NewWebhook("webhook", srv.URL, NewHTTPClient(time.Second))
	def := Target{Sender: w} // default: warning and failure
	Dispatch(context.Background(), []Target{def}, sampleEvent(Success))
	if hits.Load() != 0 {
		t.Fatal("default target notified on success")
	}
	Dispatch(context.Background(), []Target{def}, sampleEvent(Failure))
	if hits.Load() != 1 {
		t.Fatalf("hits %d after failure", hits.Load())
	}
}

func TestChatBodies(t *testing.T) {
	bodies := make(chan string, 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- r.URL.Path + " " + string(b)
	}))
	defer srv.Close()
	var targets []Target
	for _, k := range []string{"slack", "discord", "teams"} {
		w, err := NewWebhook(k, srv.URL+"/"+k, NewHTTPClient(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, Target{Sender: w, On: []Kind{Failure}})
	}
	ev := sampleEvent(Failure)
	ev.Error = "backup fs: exit 1"
	for _, r := range Dispatch(context.Background(), targets, ev) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	seen := map[string]string{}
	for range 3 {
		b := <-bodies
		k, body, _ := strings.Cut(b, " ")
		seen[k] = body
	}
	var slack struct{ Text string }
	json.Unmarshal([]byte(seen["/slack"]), &slack)
	if !strings.Contains(slack.Text, "cairn nightly@db1: failure") || !strings.Contains(slack.Text, "exit 1") {
		t.Errorf("slack %q", slack.Text)
	}
	var discord struct{ Content string }
	json.Unmarshal([]byte(seen["/discord"]), &discord)
	if !strings.Contains(discord.Content, "failure") {
		t.Errorf("discord %q", discord.Content)
	}
	if !strings.Contains(seen["/teams"], "application/vnd.microsoft.card.adaptive") || !strings.Contains(seen["/teams"], "AdaptiveCard") {
		t.Errorf("teams %s", seen["/teams"])
	}
}

// A hanging endpoint costs its timeout and no more; a dead one is retried
// within the same budget; neither blocks a healthy target.
func TestUnreachableTargetsBounded(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer hang.Close()
	defer close(release)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	var ok atomic.Int32
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ok.Add(1) }))
	defer good.Close()

	mk := func(u string) Sender {
		w, err := NewWebhook("webhook", u, NewHTTPClient(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	timeout := 700 * time.Millisecond
	targets := []Target{
		{Sender: mk(hang.URL), Timeout: timeout, Retries: 3},
		{Sender: mk(dead), Timeout: timeout, Retries: 2},
		{Sender: mk(good.URL), Timeout: timeout},
	}
	start := time.Now()
	res := Dispatch(context.Background(), targets, sampleEvent(Failure))
	el := time.Since(start)
	if el > timeout+300*time.Millisecond {
		t.Fatalf("dispatch took %s, budget %s", el, timeout)
	}
	if ok.Load() != 1 {
		t.Fatal("healthy target not notified")
	}
	for _, r := range res {
		switch {
		case strings.Contains(r.Target, hang.Listener.Addr().String()):
			if r.Err == nil || r.Attempts != 1 {
				t.Errorf("hanging: %+v", r)
			}
		case strings.Contains(r.Target, strings.TrimPrefix(strings.TrimSuffix(dead, "/hook"), "http://")):
			if r.Err == nil || r.Attempts < 2 {
				t.Errorf("dead: %+v", r)
			}
		}
	}
}

func TestPermanentErrorNotRetried(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "no such hook", http.StatusNotFound)
	}))
	defer srv.Close()
	w, _ := NewWebhook("webhook", srv.URL, NewHTTPClient(time.Second))
	res := Dispatch(context.Background(), []Target{{Sender: w, Retries: 3}}, sampleEvent(Failure))
	if hits.Load() != 1 || res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "404") {
		t.Fatalf("hits %d, %+v", hits.Load(), res)
	}
}

func TestTargetNameHidesToken(t *testing.T) {
	w, _ := NewWebhook("slack", "https://hooks.slack.com/services/T000/B000/SECRET", nil)
	if strings.Contains(w.String(), "SECRET") {
		t.Fatal(w.String())
	}
}

func TestSMTPDelivery(t *testing.T) {
	srv := newMailServer(t)
	host, port := srv.addr()
	cfg, err := ParseSMTP("smtp://backup@" + host + ":" + port + "?from=cairn@example.org&to=ops@example.org,dba@example.org")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = "s3cret"
	s := &SMTP{Config: *cfg, Now: func() time.Time { return time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC) }}
	ev := sampleEvent(Failure)
	ev.Error = "backup db: pg_dump exited 1"
	res := Dispatch(context.Background(), []Target{{Sender: s, Timeout: 5 * time.Second}}, ev)
	if res[0].Err != nil {
		t.Fatal(res[0].Err)
	}
	m := srv.mails()
	if len(m) != 1 {
		t.Fatalf("%d mails", len(m))
	}
	if m[0].From != "cairn@example.org" || strings.Join(m[0].To, ",") != "ops@example.org,dba@example.org" {
		t.Errorf("envelope %+v", m[0])
	}
	if m[0].Auth != "|backup|s3cret" {
		t.Errorf("auth %q", m[0].Auth)
	}
	for _, want := range []string{"Subject: cairn nightly@db1: failure\r\n", "To: ops@example.org, dba@example.org\r\n", "X-Cairn-Event: failure\r\n", "error: backup db: pg_dump exited 1\r\n"} {
		if !strings.Contains(m[0].Data, want) {
			t.Errorf("mail lacks %q:\n%s", want, m[0].Data)
		}
	}
}

func TestSMTPRejectedAndSilentServer(t *testing.T) {
	srv := newMailServer(t)
	srv.failRcpt = "550 no such user"
	host, port := srv.addr()
	cfg, _ := ParseSMTP("smtp://" + host + ":" + port + "?to=x@example.org")
	res := Dispatch(context.Background(), []Target{{Sender: &SMTP{Config: *cfg}, Timeout: 2 * time.Second}}, sampleEvent(Failure))
	if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "550") {
		t.Fatalf("%+v", res[0])
	}
	// A server that accepts and never speaks.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	h, p, _ := net.SplitHostPort(ln.Addr().String())
	cfg, _ = ParseSMTP("smtp://" + h + ":" + p + "?to=x@example.org")
	start := time.Now()
	res = Dispatch(context.Background(), []Target{{Sender: &SMTP{Config: *cfg}, Timeout: 500 * time.Millisecond, Retries: 5}}, sampleEvent(Failure))
	if res[0].Err == nil || time.Since(start) > 900*time.Millisecond {
		t.Fatalf("silent server: %+v after %s", res[0], time.Since(start))
	}
}

func TestParseSMTP(t *testing.T) {
	for _, bad := range []string{"smtp://host", "http://host?to=a@b", "smtp://?to=a@b", "smtp://h?to=a@b&starttls=maybe", "smtp://h?to=notanaddress"} {
		if _, err := ParseSMTP(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	c, err := ParseSMTP("smtps://u:p@mail.example.org?to=a@example.org&from=b@example.org")
	if err != nil || !c.Implicit || c.Port != "465" || c.User != "u" || c.Password != "p" {
		t.Fatalf("%+v %v", c, err)
	}
}
