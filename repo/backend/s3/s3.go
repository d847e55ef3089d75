// Package s3 stores a repository in an S3-compatible object store (AWS S3,
// MinIO, Ceph RGW, versitygw, ...) through minio-go.
//
// The layout under the configured prefix is the local one: config,
// keys/<name>, data/<first 2 chars>/<name>, index/<name>, snapshots/<name>,
// locks/<name>. A PUT is atomic in S3, so Save needs no temporary object:
// a file is complete or absent.
package s3

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"cairn/repo/backend"
)

// Backend is a repository in an S3 bucket. It is safe for concurrent use.
type Backend struct {
	client *minio.Client
	core   minio.Core
	cfg    Config
}

var _ backend.Backend = (*Backend)(nil)

// Open connects to an existing repository. If the bucket or the config
// file under the prefix does not exist, the error wraps backend.ErrNotExist.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	ok, err := b.client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: open %s: %w", b.Location(), classify(err))
	}
	if !ok {
		return nil, fmt.Errorf("s3: open %s: bucket %q does not exist: %w", b.Location(), cfg.Bucket, backend.ErrNotExist)
	}
	if _, err := b.Stat(ctx, backend.Handle{Type: backend.ConfigFile}); backend.IsNotExist(err) {
		return nil, fmt.Errorf("s3: open %s: no config file, not a repository: %w", b.Location(), backend.ErrNotExist)
	} else if err != nil {
		return nil, fmt.Errorf("s3: open %s: %w", b.Location(), err)
	}
	return b, nil
}

// Create prepares a new repository: it creates the bucket (in cfg.Region)
// if it does not exist, and fails if a config file already exists under
// the prefix. Object stores need no directories.
func Create(ctx context.Context, cfg Config) (*Backend, error) {
	b, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	ok, err := b.client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: create %s: %w", b.Location(), classify(err))
	}
	if !ok {
		err := b.client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: b.cfg.Region})
		// Another client may have created it in the meantime.
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, fmt.Errorf("s3: create bucket %q: %w", cfg.Bucket, classify(err))
		}
	}
	_, err = b.Stat(ctx, backend.Handle{Type: backend.ConfigFile})
	switch {
	case err == nil:
		return nil, fmt.Errorf("s3: create %s: a repository already exists there: %w", b.Location(), fs.ErrExist)
	case !backend.IsNotExist(err):
		return nil, fmt.Errorf("s3: create %s: %w", b.Location(), err)
	}
	return b, nil
}

// connect builds the client; it sends no request.
func connect(cfg Config) (*Backend, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, fmt.Errorf("s3: %w: endpoint and bucket are required", ErrBadURL)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 3
	}
	lookup := minio.BucketLookupAuto
	switch cfg.BucketLookup {
	case "", LookupAuto:
	case LookupPath:
		lookup = minio.BucketLookupPath
	case LookupDNS:
		lookup = minio.BucketLookupDNS
	default:
		return nil, fmt.Errorf("s3: bucket lookup %q is not auto, path or dns", cfg.BucketLookup)
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentialsFor(cfg),
		Secure:       !cfg.HTTP,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   cfg.MaxRetries,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %s: %w", cfg.Location(), err)
	}
	return &Backend{client: client, core: minio.Core{Client: client}, cfg: cfg}, nil
}

// credentialsFor returns the static keys from cfg, or else the chain
// environment → ~/.aws/credentials → IAM role, which minio-go resolves
// lazily and refreshes when temporary credentials expire.
func credentialsFor(cfg Config) *credentials.Credentials {
	if cfg.AccessKeyID != "" || cfg.SecretAccessKey != "" {
		return credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	}
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{},
		&credentials.FileAWSCredentials{},
		&credentials.IAM{},
	})
}

// Location returns the repository URL without credentials.
func (b *Backend) Location() string { return b.cfg.Location() }

// Close releases nothing: idle connections close on their own.
func (b *Backend) Close() error { return nil }

// key returns the object key of a valid handle.
func (b *Backend) key(h backend.Handle) string {
	switch h.Type {
	case backend.ConfigFile:
		return path.Join(b.cfg.Prefix, string(backend.ConfigFile))
	case backend.PackFile:
		return path.Join(b.cfg.Prefix, string(backend.PackFile), h.Name[:2], h.Name)
	default:
		return path.Join(b.cfg.Prefix, string(h.Type), h.Name)
	}
}

// dirKey returns the key prefix, ending in "/", under which files of type
// t live.
func (b *Backend) dirKey(t backend.FileType) string {
	return path.Join(b.cfg.Prefix, string(t)) + "/"
}

// classify maps S3 errors onto the backend's: missing keys and buckets to
// ErrNotExist, errors a retry cannot cure to Permanent.
func classify(err error) error {
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return err
	}
	switch er.Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		return fmt.Errorf("%w (%v)", backend.ErrNotExist, err)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidBucketName",
		"InvalidArgument", "MethodNotAllowed", "InvalidStorageClass", "AllAccessDisabled",
		"AccountProblem", "InvalidObjectState", "QuotaExceeded", "EntityTooLarge":
		return backend.Permanent(err)
	}
	if er.StatusCode == 404 {
		return fmt.Errorf("%w (%v)", backend.ErrNotExist, err)
	}
	return err
}
