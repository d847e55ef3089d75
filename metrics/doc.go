// Package metrics renders the outcome of a profile run in the Prometheus
// text exposition format, writes it atomically to a file for
// node_exporter's textfile collector, and pushes it to a Pushgateway
// (docs/metrics.md).
//
// Several profiles may share one file: WriteFile replaces only the samples
// labelled with its profile and keeps the others, under an advisory lock so
// that two profiles finishing together do not lose each other's lines.
package metrics
