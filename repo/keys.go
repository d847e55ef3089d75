package repo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"golang.org/x/crypto/argon2"

	"cairn/internal/crypto"
	"cairn/repo/backend"
)

// KDFParams are argon2id parameters stored in each key file.
type KDFParams struct {
	Time    uint32 `json:"time"`
	Memory  uint32 `json:"memory"` // KiB
	Threads uint8  `json:"threads"`
}

// DefaultKDF is argon2id with 64 MiB, one pass and four lanes (OWASP's
// recommended minimum is 46 MiB with one pass): every guess costs an
// attacker 64 MiB of memory traffic, while a command pays about 50 ms.
// Three passes cost 0.3 s of CPU on every command here, a third of an
// unchanged backup.
var DefaultKDF = KDFParams{Time: 1, Memory: 64 * 1024, Threads: 4}

// KeyFile is the stored form of one password's wrapping of the master key.
type KeyFile struct {
	Created  time.Time `json:"created"`
	Host     string    `json:"host"`
	Username string    `json:"username"`
	KDF      string    `json:"kdf"`
	KDFParams
	Salt []byte `json:"salt"`
	Data []byte `json:"data"` // sealed JSON of crypto.Key
}

// KeyInfo describes a key file for `key list`.
type KeyInfo struct {
	ID       crypto.ID `json:"id"`
	Created  time.Time `json:"created"`
	Host     string    `json:"host"`
	Username string    `json:"username"`
	Current  bool      `json:"current"`
}

const keyAD = "cairn key v1"

func (p KDFParams) derive(password string, salt []byte) [32]byte {
	var k [32]byte
	copy(k[:], argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32))
	return k
}

func newKeyFile(master *crypto.Key, password string, p KDFParams, now time.Time) ([]byte, error) {
	if p.Time == 0 || p.Memory == 0 || p.Threads == 0 {
		p = DefaultKDF
	}
	kf := KeyFile{Created: now, KDF: "argon2id", KDFParams: p, Salt: make([]byte, 32)}
	kf.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		kf.Username = u.Username
	}
	if _, err := rand.Read(kf.Salt); err != nil {
		return nil, fmt.Errorf("key salt: %w", err)
	}
	plain, err := json.Marshal(master)
	if err != nil {
		return nil, err
	}
	kf.Data = crypto.NewAEAD(p.derive(password, kf.Salt)).Seal(nil, plain, []byte(keyAD))
	return json.MarshalIndent(kf, "", "  ")
}

func openKeyFile(data []byte, password string) (*crypto.Key, *KeyFile, error) {
	var kf KeyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, nil, fmt.Errorf("decode key file: %w", err)
	}
	if kf.KDF != "argon2id" {
		return nil, nil, fmt.Errorf("key file: unsupported kdf %q", kf.KDF)
	}
	// Bound the parameters so a forged key file cannot make us allocate
	// absurd memory or spin forever.
	if kf.Time == 0 || kf.Time > 100 || kf.Memory == 0 || kf.Memory > 4<<20 || kf.Threads == 0 || len(kf.Salt) < 16 {
		return nil, nil, fmt.Errorf("key file: kdf parameters out of range")
	}
	plain, err := crypto.NewAEAD(kf.KDFParams.derive(password, kf.Salt)).Open(nil, kf.Data, []byte(keyAD))
	if err != nil {
		return nil, nil, err
	}
	var k crypto.Key
	if err := json.Unmarshal(plain, &k); err != nil {
		return nil, nil, fmt.Errorf("decode master key: %w", err)
	}
	return &k, &kf, nil
}

// findKey tries every key file with the password.
func findKey(ctx context.Context, be backend.Backend, password string) (*crypto.Key, crypto.ID, error) {
	var names []string
	err := be.List(ctx, backend.KeyFile, func(fi backend.FileInfo) error {
		names = append(names, fi.Name)
		return nil
	})
	if err != nil {
		return nil, crypto.ID{}, fmt.Errorf("list keys: %w", err)
	}
	if len(names) == 0 {
		return nil, crypto.ID{}, fmt.Errorf("no key files found: %w", ErrNoRepository)
	}
	for _, name := range names {
		data, err := backend.LoadAll(ctx, be, backend.Handle{Type: backend.KeyFile, Name: name})
		if err != nil {
			return nil, crypto.ID{}, fmt.Errorf("load key %s: %w", name, err)
		}
		k, _, err := openKeyFile(data, password)
		if errors.Is(err, crypto.ErrAuth) {
			continue
		}
		if err != nil {
			return nil, crypto.ID{}, fmt.Errorf("key %s: %w", name, err)
		}
		id, err := crypto.ParseID(name)
		if err != nil {
			return nil, crypto.ID{}, fmt.Errorf("key file name: %w", err)
		}
		return k, id, nil
	}
	return nil, crypto.ID{}, ErrWrongPassword
}

func saveKey(ctx context.Context, be backend.Backend, master *crypto.Key, password string, p KDFParams, now time.Time) (crypto.ID, error) {
	data, err := newKeyFile(master, password, p, now)
	if err != nil {
		return crypto.ID{}, err
	}
	id := crypto.Hash(data)
	if err := be.Save(ctx, backend.Handle{Type: backend.KeyFile, Name: id.String()}, data); err != nil {
		return crypto.ID{}, fmt.Errorf("save key: %w", err)
	}
	return id, nil
}

// AddKey stores a new key file for password and returns its id.
func (r *Repository) AddKey(ctx context.Context, password string) (crypto.ID, error) {
	return saveKey(ctx, r.be, r.key, password, r.opts.KDF, r.now())
}

// ListKeys describes every key file.
func (r *Repository) ListKeys(ctx context.Context) ([]KeyInfo, error) {
	var out []KeyInfo
	err := r.be.List(ctx, backend.KeyFile, func(fi backend.FileInfo) error {
		data, err := backend.LoadAll(ctx, r.be, backend.Handle{Type: backend.KeyFile, Name: fi.Name})
		if err != nil {
			return fmt.Errorf("load key %s: %w", fi.Name, err)
		}
		var kf KeyFile
		if err := json.Unmarshal(data, &kf); err != nil {
			return fmt.Errorf("decode key %s: %w", fi.Name, err)
		}
		id, err := crypto.ParseID(fi.Name)
		if err != nil {
			return fmt.Errorf("key file name: %w", err)
		}
		out = append(out, KeyInfo{ID: id, Created: kf.Created, Host: kf.Host, Username: kf.Username, Current: id == r.keyID})
		return nil
	})
	return out, err
}

// RemoveKey deletes a key file; the key in use cannot be removed.
func (r *Repository) RemoveKey(ctx context.Context, id crypto.ID) error {
	if id == r.keyID {
		return fmt.Errorf("refusing to remove the key currently in use")
	}
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.KeyFile, Name: id.String()}); err != nil {
		return fmt.Errorf("remove key %s: %w", id.Short(), err)
	}
	return nil
}

// ChangePassword replaces the current key file by one for the new password.
// The master key is unchanged, so no data is re-encrypted.
func (r *Repository) ChangePassword(ctx context.Context, password string) (crypto.ID, error) {
	id, err := r.AddKey(ctx, password)
	if err != nil {
		return id, err
	}
	old := r.keyID
	r.keyID = id
	if err := r.be.Remove(ctx, backend.Handle{Type: backend.KeyFile, Name: old.String()}); err != nil {
		return id, fmt.Errorf("remove old key %s: %w", old.Short(), err)
	}
	return id, nil
}

// ResolveKeyID expands a key id prefix.
func (r *Repository) ResolveKeyID(ctx context.Context, prefix string) (crypto.ID, error) {
	keys, err := r.ListKeys(ctx)
	if err != nil {
		return crypto.ID{}, err
	}
	var found []crypto.ID
	for _, k := range keys {
		if len(prefix) <= 64 && k.ID.String()[:len(prefix)] == prefix {
			found = append(found, k.ID)
		}
	}
	switch len(found) {
	case 0:
		return crypto.ID{}, fmt.Errorf("no key with id %q", prefix)
	case 1:
		return found[0], nil
	}
	return crypto.ID{}, fmt.Errorf("key id %q is ambiguous", prefix)
}
