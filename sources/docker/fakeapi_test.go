package docker

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"cairn/repo"
	"cairn/repo/backend/local"
)

// fakeExec is what the fake daemon answers for one exec.
type fakeExec struct {
	Stdout, Stderr string
	Exit           int
}

// fakeAPI serves the Engine API subset the client uses over a unix socket.
type fakeAPI struct {
	APIVersion string
	Containers []Container
	Env        map[string][]string // container id -> Config.Env
	// Run answers an exec by its command.
	Run func(id string, cfg ExecConfig) fakeExec

	mu      sync.Mutex
	execs   map[string]ExecConfig
	results map[string]fakeExec
	polls   map[string]int
	Calls   []string // "METHOD path"
	n       int
}

func (f *fakeAPI) start(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	f.execs = map[string]ExecConfig{}
	f.results = map[string]fakeExec{}
	f.polls = map[string]int{}
	return "unix://" + sock
}

func (f *fakeAPI) containerIDs() map[string]bool {
	m := map[string]bool{}
	for _, c := range f.Containers {
		m[c.ID] = true
	}
	return m
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.Calls = append(f.Calls, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if r.URL.Path == "/version" {
		json.NewEncoder(w).Encode(map[string]string{"ApiVersion": f.APIVersion, "MinAPIVersion": "1.12", "Version": "fake"})
		return
	}
	prefix := "/v" + f.APIVersion + "/"
	if versionLess(MaxAPIVersion, f.APIVersion) {
		prefix = "/v" + MaxAPIVersion + "/"
	}
	path, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.Error(w, `{"message":"bad version prefix"}`, http.StatusBadRequest)
		return
	}
	parts := strings.Split(path, "/")
	switch {
	case path == "containers/json" && r.Method == http.MethodGet:
		var filters map[string][]string
		if err := json.Unmarshal([]byte(r.URL.Query().Get("filters")), &filters); err != nil {
			http.Error(w, `{"message":"bad filters"}`, http.StatusBadRequest)
			return
		}
		out := []Container{}
		for _, c := range f.Containers {
			match := true
			for _, lf := range filters["label"] {
				k, v, hasV := strings.Cut(lf, "=")
				got, ok := c.Labels[k]
				if !ok || (hasV && got != v) {
					match = false
				}
			}
			if match {
				out = append(out, c)
			}
		}
		json.NewEncoder(w).Encode(out)
	case len(parts) == 3 && parts[0] == "containers" && parts[2] == "json" && r.Method == http.MethodGet:
		if !f.containerIDs()[parts[1]] {
			http.Error(w, `{"message":"no such container"}`, http.StatusNotFound)
			return
		}
		var d ContainerDetails
		d.ID = parts[1]
		d.Config.Env = f.Env[parts[1]]
		d.State.Running = true
		json.NewEncoder(w).Encode(d)
	case len(parts) == 3 && parts[0] == "containers" && parts[2] == "exec" && r.Method == http.MethodPost:
		if !f.containerIDs()[parts[1]] {
			http.Error(w, `{"message":"no such container"}`, http.StatusNotFound)
			return
		}
		var body struct {
			AttachStdout, AttachStderr bool
			Cmd, Env                   []string
			User                       string
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || !body.AttachStdout || !body.AttachStderr {
			http.Error(w, `{"message":"bad exec config"}`, http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.n++
		id := fmt.Sprintf("exec%d", f.n)
		cfg := ExecConfig{Cmd: body.Cmd, Env: body.Env, User: body.User}
		f.execs[id] = cfg
		f.results[id] = f.Run(parts[1], cfg)
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"Id": id})
	case len(parts) == 3 && parts[0] == "exec" && parts[2] == "start" && r.Method == http.MethodPost:
		f.mu.Lock()
		res, ok := f.results[parts[1]]
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"message":"no such exec"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		w.WriteHeader(http.StatusOK)
		// Interleave stdout and stderr in small frames.
		out, errs := res.Stdout, res.Stderr
		for out != "" || errs != "" {
			if errs != "" {
				n := min(len(errs), 7)
				w.Write(frame(streamStderr, errs[:n]))
				errs = errs[n:]
			}
			if out != "" {
				n := min(len(out), 1000)
				w.Write(frame(streamStdout, out[:n]))
				out = out[n:]
			}
		}
	case len(parts) == 3 && parts[0] == "exec" && parts[2] == "json" && r.Method == http.MethodGet:
		f.mu.Lock()
		res, ok := f.results[parts[1]]
		f.polls[parts[1]]++
		running := f.polls[parts[1]] == 1 // the first poll still sees it running
		f.mu.Unlock()
		if !ok {
			http.Error(w, `{"message":"no such exec"}`, http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(ExecState{Running: running, ExitCode: res.Exit})
	default:
		http.Error(w, `{"message":"not implemented by the fake"}`, http.StatusNotFound)
	}
}

func (f *fakeAPI) execConfigs() []ExecConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ExecConfig
	for i := 1; i <= f.n; i++ {
		out = append(out, f.execs[fmt.Sprintf("exec%d", i)])
	}
	return out
}

// frame encodes one stdcopy frame.
func frame(stream byte, payload string) []byte {
	b := make([]byte, 8+len(payload))
	b[0] = stream
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	copy(b[8:], payload)
	return b
}

// testRepo makes a local repository in a temp dir with a cheap KDF.
func testRepo(t testing.TB) *repo.Repository {
	t.Helper()
	dir := t.TempDir()
	be, err := local.Create(filepath.Join(dir, "repo"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Init(context.Background(), be, "pw", repo.InitOptions{
		Options:  repo.Options{CacheDir: filepath.Join(dir, "cache"), KDF: repo.KDFParams{Time: 1, Memory: 1024, Threads: 1}},
		PackSize: 4 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
