package db

import "errors"

// Sentinel errors of the db source.
var (
	// ErrUnknownEngine: the engine name is not one of Engines.
	ErrUnknownEngine = errors.New("unknown database engine")
	// ErrInvalid: the connection settings are incomplete or contradictory.
	ErrInvalid = errors.New("invalid database settings")
	// ErrToolMissing: the engine's dump or client program is not installed.
	ErrToolMissing = errors.New("database tool not found")
	// ErrNotDB: the snapshot was not made by the db source.
	ErrNotDB = errors.New("not a database snapshot")
)
