package repo

import (
	"context"
	"encoding/json"
	"fmt"

	"cairn/chunker"
	"cairn/internal/crypto"
	"cairn/repo/backend"
)

// FormatVersion is the repository format this code reads and writes.
const FormatVersion = 1

// Default pack target sizes.
const (
	DefaultPackSize       = 16 << 20
	DefaultObjectPackSize = 64 << 20
)

// Config is the repository's sealed config file: fixed at init.
type Config struct {
	Version  int            `json:"version"`
	ID       string         `json:"id"`
	Chunker  chunker.Params `json:"chunker"`
	PackSize int            `json:"pack_size"`
}

func (r *Repository) saveConfig(ctx context.Context, cfg Config) error {
	plain, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	sealed := r.fileAEAD.Seal(nil, plain, []byte("cairn config v1"))
	if err := r.be.Save(ctx, backend.Handle{Type: backend.ConfigFile}, sealed); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

func loadConfig(ctx context.Context, be backend.Backend, aead *crypto.AEAD) (Config, error) {
	var cfg Config
	sealed, err := backend.LoadAll(ctx, be, backend.Handle{Type: backend.ConfigFile})
	if err != nil {
		return cfg, fmt.Errorf("load config: %w", err)
	}
	plain, err := aead.Open(nil, sealed, []byte("cairn config v1"))
	if err != nil {
		return cfg, fmt.Errorf("open config: %w", err)
	}
	if err := json.Unmarshal(plain, &cfg); err != nil {
		return cfg, fmt.Errorf("decode config: %w", err)
	}
	if cfg.Version != FormatVersion {
		return cfg, fmt.Errorf("repository format version %d is not supported (want %d)", cfg.Version, FormatVersion)
	}
	if err := cfg.Chunker.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	if cfg.PackSize < 1<<20 || cfg.PackSize > 1<<30 {
		return cfg, fmt.Errorf("config: pack size %d out of range", cfg.PackSize)
	}
	return cfg, nil
}
