package s3

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// ErrBadURL is wrapped by errors for repository URLs ParseURL rejects.
var ErrBadURL = errors.New("bad s3 repository URL")

// Bucket lookup styles for Config.BucketLookup.
const (
	// LookupAuto uses virtual-host style for AWS (and other hosts minio-go
	// knows to support it) and path style for everything else.
	LookupAuto = "auto"
	// LookupPath always uses http://host/bucket/key.
	LookupPath = "path"
	// LookupDNS always uses http://bucket.host/key.
	LookupDNS = "dns"
)

// DefaultRegion is used when neither the configuration nor the
// environment names one.
const DefaultRegion = "us-east-1"

// Config says where a repository is and how to reach it.
type Config struct {
	// Endpoint is host[:port], without scheme.
	Endpoint string
	// HTTP selects plain http instead of https.
	HTTP bool
	// Bucket is the bucket name; Prefix the key prefix inside it, without
	// leading or trailing slash ("" for the bucket's root).
	Bucket, Prefix string
	// Region defaults to $AWS_DEFAULT_REGION, $AWS_REGION, then us-east-1.
	Region string
	// AccessKeyID, SecretAccessKey and SessionToken, if set, are used as
	// they are. Otherwise credentials come from minio-go's chain:
	// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN,
	// ~/.aws/credentials (AWS_PROFILE), then the EC2/ECS IAM role.
	AccessKeyID, SecretAccessKey, SessionToken string
	// BucketLookup is LookupAuto (default), LookupPath or LookupDNS.
	BucketLookup string
	// StorageClass is sent with every upload ("" for the bucket default),
	// e.g. STANDARD_IA. Avoid archive classes: restore reads packs directly.
	StorageClass string
	// MaxRetries bounds minio-go's own retries of one request (default 3).
	// Longer outages are the Retry wrapper's job.
	MaxRetries int
	// Transport, if set, replaces minio-go's default HTTP transport.
	Transport http.RoundTripper
}

// ParseURL parses "s3:http(s)://host[:port]/bucket[/prefix]" and the
// restic-style short form "s3:host[:port]/bucket[/prefix]" (https).
// Credentials in the URL are refused: they would end up in shell history
// and process lists; use the environment instead.
func ParseURL(s string) (Config, error) {
	rest, ok := strings.CutPrefix(s, "s3:")
	if !ok {
		return Config{}, fmt.Errorf("%w: %q does not start with s3:", ErrBadURL, s)
	}
	var cfg Config
	if !strings.HasPrefix(rest, "http://") && !strings.HasPrefix(rest, "https://") {
		if strings.HasPrefix(rest, "//") || strings.Contains(rest, "://") {
			return Config{}, fmt.Errorf("%w: %q: use s3:https://host/bucket/prefix", ErrBadURL, s)
		}
		rest = "https://" + rest
	}
	u, err := url.Parse(rest)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %q: %v", ErrBadURL, s, err)
	}
	switch {
	case u.User != nil:
		return Config{}, fmt.Errorf("%w: credentials in the URL are not accepted; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", ErrBadURL)
	case u.Host == "":
		return Config{}, fmt.Errorf("%w: %q has no host", ErrBadURL, s)
	case u.RawQuery != "" || u.Fragment != "":
		return Config{}, fmt.Errorf("%w: %q: query strings and fragments are not supported; use options", ErrBadURL, s)
	}
	cfg.Endpoint = u.Host
	cfg.HTTP = u.Scheme == "http"
	p := strings.Trim(u.Path, "/")
	cfg.Bucket, cfg.Prefix, _ = strings.Cut(p, "/")
	if cfg.Bucket == "" {
		return Config{}, fmt.Errorf("%w: %q names no bucket", ErrBadURL, s)
	}
	if cfg.Prefix != "" {
		clean := path.Clean(cfg.Prefix)
		if clean != cfg.Prefix || clean == ".." || strings.HasPrefix(clean, "../") {
			return Config{}, fmt.Errorf("%w: prefix %q is not a clean path", ErrBadURL, cfg.Prefix)
		}
	}
	return cfg, nil
}

// ApplyEnv fills unset fields from the environment, read through getenv
// (os.Getenv in the CLI): the region from AWS_DEFAULT_REGION or
// AWS_REGION, path-style lookup from CAIRN_S3_PATH_STYLE (a boolean: true
// forces path style, false virtual-host style).
func (c *Config) ApplyEnv(getenv func(string) string) error {
	if c.Region == "" {
		c.Region = getenv("AWS_DEFAULT_REGION")
	}
	if c.Region == "" {
		c.Region = getenv("AWS_REGION")
	}
	if v := getenv("CAIRN_S3_PATH_STYLE"); v != "" && c.BucketLookup == "" {
		if err := c.SetOption("path-style", v); err != nil {
			return fmt.Errorf("CAIRN_S3_PATH_STYLE: %w", err)
		}
	}
	return nil
}

// SetOption sets one option by name, for "-o s3.<name>=<value>" flags:
// region, storage-class, bucket-lookup (auto|path|dns), path-style (bool),
// max-retries.
func (c *Config) SetOption(name, value string) error {
	switch name {
	case "region":
		c.Region = value
	case "storage-class":
		c.StorageClass = value
	case "bucket-lookup":
		switch value {
		case LookupAuto, LookupPath, LookupDNS:
			c.BucketLookup = value
		default:
			return fmt.Errorf("s3 option bucket-lookup: %q is not auto, path or dns", value)
		}
	case "path-style":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return fmt.Errorf("s3 option path-style: %q is not a boolean", value)
		}
		c.BucketLookup = LookupDNS
		if b {
			c.BucketLookup = LookupPath
		}
	case "max-retries":
		n, err := strconv.Atoi(value)
		if err != nil || n < 1 {
			return fmt.Errorf("s3 option max-retries: %q is not a positive number", value)
		}
		c.MaxRetries = n
	default:
		return fmt.Errorf("unknown s3 option %q", name)
	}
	return nil
}

// Location returns the URL of the repository, without credentials.
func (c Config) Location() string {
	scheme := "https"
	if c.HTTP {
		scheme = "http"
	}
	loc := "s3:" + scheme + "://" + c.Endpoint + "/" + c.Bucket
	if c.Prefix != "" {
		loc += "/" + c.Prefix
	}
	return loc
}
