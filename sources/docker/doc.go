// Package docker is the Docker container source: it discovers running
// containers through the Docker Engine API (a unix socket, or tcp://, with
// API-version negotiation; podman's `podman system service` speaks the
// same API) by their `cairn.*` or `baktainer.*` labels, validates each
// container's label set, runs the engine's dump command inside the
// container through exec — argv only, never a shell; the password in the
// exec's environment, never on its command line — and streams the dump's
// standard output, demultiplexed from Docker's stdcopy framing, into the
// repository through package stream. One snapshot per container, of kind
// db; a dump whose exec exits non-zero leaves no snapshot.
// docs/source-docker.md describes the labels.
package docker
