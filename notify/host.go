package notify

import "os"

// hostnameOr returns the host name, or def when it cannot be read.
func hostnameOr(def string) string {
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return def
}
