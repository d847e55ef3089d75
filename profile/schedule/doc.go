// Package schedule installs, lists and removes the periodic start of a
// profile run: a crontab entry or a systemd service and timer pair
// (docs/profiles.md, "Scheduling"). Entries carry a marker naming their
// profile, so remove takes out exactly what install wrote and nothing a
// person wrote by hand.
package schedule
