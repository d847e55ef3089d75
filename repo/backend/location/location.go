// Package location turns a repository URL (-r/--repo, CAIRN_REPOSITORY)
// into a raw backend: a path or "local:PATH" for a directory,
// "s3:http(s)://host[:port]/bucket/prefix" for an object store,
// "sftp:[user@]host:path" or "sftp://[user@]host[:port]/path" for an sftp
// server, "rest:http(s)://host[:port]/path" for a restic REST server. The caller
// then wraps the result with backend.Stack, once, where it opens the
// repository.
package location

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"cairn/repo/backend"
	"cairn/repo/backend/local"
	"cairn/repo/backend/rest"
	"cairn/repo/backend/s3"
	"cairn/repo/backend/sftp"
)

// ErrUnsupported is wrapped by errors for URLs of an unknown kind.
var ErrUnsupported = errors.New("unsupported repository location")

// Options configure Open.
type Options struct {
	// Create makes a new repository's storage (directory tree, bucket)
	// instead of opening an existing one.
	Create bool
	// Getenv reads the environment (default os.Getenv); tests pass a map.
	Getenv func(string) string
	// Extended holds "-o key=value" options, keys prefixed by the backend
	// kind: "s3.region", "s3.storage-class", "s3.bucket-lookup",
	// "s3.path-style", "s3.max-retries", "sftp.command", "sftp.args".
	Extended map[string]string
}

// Kind returns the backend kind a location names: "local", "s3", "sftp"
// or "rest".
func Kind(loc string) (string, error) {
	switch {
	case loc == "":
		return "", fmt.Errorf("%w: empty", ErrUnsupported)
	case strings.HasPrefix(loc, "local:"):
		return "local", nil
	case strings.HasPrefix(loc, "s3:"):
		return "s3", nil
	case strings.HasPrefix(loc, "sftp:"):
		return "sftp", nil
	case strings.HasPrefix(loc, "rest:"):
		return "rest", nil
	}
	// A "scheme:" other than ours (sftp:, rest:, b2:) is refused rather
	// than taken as a relative directory name.
	if i := strings.Index(loc, ":"); i > 0 && !strings.ContainsAny(loc[:i], "/\\.") {
		return "", fmt.Errorf("%w: %q (known: a path, local:PATH, s3:URL, sftp:URL, rest:URL)", ErrUnsupported, loc)
	}
	return "local", nil
}

// Open opens (or with Options.Create, creates) the backend loc names. A
// location without a repository gives an error wrapping
// backend.ErrNotExist.
func Open(ctx context.Context, loc string, opts Options) (backend.Backend, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	kind, err := Kind(loc)
	if err != nil {
		return nil, err
	}
	for k := range opts.Extended {
		if !strings.HasPrefix(k, kind+".") {
			return nil, fmt.Errorf("option %q does not apply to a %s repository", k, kind)
		}
	}
	switch kind {
	case "s3":
		cfg, err := s3.ParseURL(loc)
		if err != nil {
			return nil, err
		}
		for k, v := range opts.Extended {
			if err := cfg.SetOption(strings.TrimPrefix(k, "s3."), v); err != nil {
				return nil, err
			}
		}
		if err := cfg.ApplyEnv(opts.Getenv); err != nil {
			return nil, err
		}
		if opts.Create {
			return s3.Create(ctx, cfg)
		}
		return s3.Open(ctx, cfg)
	case "sftp":
		cfg, err := sftp.ParseURL(loc)
		if err != nil {
			return nil, err
		}
		for k, v := range opts.Extended {
			if err := cfg.SetOption(strings.TrimPrefix(k, "sftp."), v); err != nil {
				return nil, err
			}
		}
		if opts.Create {
			return sftp.Create(ctx, cfg)
		}
		return sftp.Open(ctx, cfg)
	case "rest":
		cfg, err := rest.ParseURL(loc)
		if err != nil {
			return nil, err
		}
		if len(opts.Extended) > 0 {
			return nil, errors.New("a rest repository takes no -o options")
		}
		cfg.ApplyEnv(opts.Getenv)
		if opts.Create {
			return rest.Create(ctx, cfg)
		}
		return rest.Open(ctx, cfg)
	default:
		if len(opts.Extended) > 0 {
			return nil, errors.New("a local repository takes no options")
		}
		dir := strings.TrimPrefix(loc, "local:")
		if dir == "" {
			return nil, fmt.Errorf("%w: %q names no directory", ErrUnsupported, loc)
		}
		if opts.Create {
			return local.Create(dir)
		}
		return local.Open(dir)
	}
}
