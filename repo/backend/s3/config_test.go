package s3

import (
	"errors"
	"testing"
)

func TestParseURL(t *testing.T) {
	ok := []struct {
		in   string
		want Config
		loc  string
	}{
		{"s3:http://127.0.0.1:9000/bkt/some/prefix", Config{Endpoint: "127.0.0.1:9000", HTTP: true, Bucket: "bkt", Prefix: "some/prefix"}, ""},
		{"s3:https://s3.amazonaws.com/bkt", Config{Endpoint: "s3.amazonaws.com", Bucket: "bkt"}, ""},
		{"s3:https://s3.amazonaws.com/bkt/", Config{Endpoint: "s3.amazonaws.com", Bucket: "bkt"}, "s3:https://s3.amazonaws.com/bkt"},
		{"s3:s3.eu-west-1.amazonaws.com/bkt/p", Config{Endpoint: "s3.eu-west-1.amazonaws.com", Bucket: "bkt", Prefix: "p"}, "s3:https://s3.eu-west-1.amazonaws.com/bkt/p"},
		{"s3:http://[::1]:9000/b/p/", Config{Endpoint: "[::1]:9000", HTTP: true, Bucket: "b", Prefix: "p"}, "s3:http://[::1]:9000/b/p"},
	}
	for _, c := range ok {
		got, err := ParseURL(c.in)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", c.in, err)
			continue
		}
		if got.Endpoint != c.want.Endpoint || got.HTTP != c.want.HTTP || got.Bucket != c.want.Bucket || got.Prefix != c.want.Prefix {
			t.Errorf("ParseURL(%q) = %+v, want %+v", c.in, got, c.want)
		}
		loc := c.loc
		if loc == "" {
			loc = c.in
		}
		if got.Location() != loc {
			t.Errorf("Location() of %q = %q, want %q", c.in, got.Location(), loc)
		}
	}
	bad := []string{
		"http://host/bkt",
		"s3:",
		"s3:http://host",
		"s3:http://host/",
		"s3:http://key:secret@host/bkt",
		"s3:https://host/bkt/p?region=x",
		"s3://bkt/prefix",
		"s3:ftp://host/bkt",
		"s3:http://host/bkt/a/../../b",
		"s3:http://host/bkt/a//b",
	}
	for _, in := range bad {
		if cfg, err := ParseURL(in); !errors.Is(err, ErrBadURL) {
			t.Errorf("ParseURL(%q) = %+v, %v; want ErrBadURL", in, cfg, err)
		}
	}
}

func TestApplyEnvAndOptions(t *testing.T) {
	env := map[string]string{"AWS_DEFAULT_REGION": "eu-central-1", "AWS_REGION": "ignored", "CAIRN_S3_PATH_STYLE": "true"}
	var c Config
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-central-1" || c.BucketLookup != LookupPath {
		t.Errorf("ApplyEnv: %+v", c)
	}
	c = Config{Region: "explicit", BucketLookup: LookupDNS}
	if err := c.ApplyEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Region != "explicit" || c.BucketLookup != LookupDNS {
		t.Errorf("ApplyEnv overrode explicit settings: %+v", c)
	}
	c = Config{}
	if err := c.ApplyEnv(func(k string) string { return map[string]string{"AWS_REGION": "r2", "CAIRN_S3_PATH_STYLE": "0"}[k] }); err != nil {
		t.Fatal(err)
	}
	if c.Region != "r2" || c.BucketLookup != LookupDNS {
		t.Errorf("ApplyEnv with AWS_REGION and path style off: %+v", c)
	}
	if err := (&Config{}).ApplyEnv(func(k string) string { return map[string]string{"CAIRN_S3_PATH_STYLE": "maybe"}[k] }); err == nil {
		t.Error("CAIRN_S3_PATH_STYLE=maybe accepted")
	}

	c = Config{}
	for k, v := range map[string]string{"region": "ap-south-1", "storage-class": "STANDARD_IA", "bucket-lookup": "dns", "max-retries": "7"} {
		if err := c.SetOption(k, v); err != nil {
			t.Errorf("SetOption(%s, %s): %v", k, v, err)
		}
	}
	if c.Region != "ap-south-1" || c.StorageClass != "STANDARD_IA" || c.BucketLookup != LookupDNS || c.MaxRetries != 7 {
		t.Errorf("after SetOption: %+v", c)
	}
	for k, v := range map[string]string{"bucket-lookup": "vhost", "path-style": "x", "max-retries": "0", "nope": "1"} {
		if err := c.SetOption(k, v); err == nil {
			t.Errorf("SetOption(%s, %s) accepted", k, v)
		}
	}
}
