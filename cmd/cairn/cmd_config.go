package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"cairn/profile"
)

// configFlag names the profile configuration file.
func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", EnvVars: []string{"CAIRN_CONFIG"}, Usage: "profile configuration `FILE` (default: XDG config dir/cairn/cairn.toml)"}
}

func configPath(c *cli.Context) string {
	if p := c.String("config"); p != "" {
		return p
	}
	return profile.DefaultPath()
}

// loadConfig reads the configuration; on problems it prints each with its
// line and returns an exit error, so nothing runs with a broken file.
func loadConfig(c *cli.Context, e *env) (*profile.Config, error) {
	cfg, err := profile.Load(configPath(c))
	var ce *profile.ConfigError
	if errors.As(err, &ce) {
		if e.json {
			_ = e.printJSON(map[string]any{"message_type": "config_problems", "problems": ce.Problems})
		}
		for _, p := range ce.Problems {
			fmt.Fprintf(e.stderr, "%s\n", p)
		}
		return nil, &exitErr{code: exitError, err: fmt.Errorf("%s: %d problem(s); nothing was run", configPath(c), len(ce.Problems))}
	}
	return cfg, err
}

func cmdConfig() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "work with the profile configuration file (docs/profiles.md)",
		Subcommands: []*cli.Command{{
			Name:  "check",
			Usage: "validate the configuration file and print each problem with its line",
			Flags: []cli.Flag{configFlag()},
			Action: func(c *cli.Context) error {
				e := newEnv(c)
				cfg, err := loadConfig(c, e)
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(map[string]any{"message_type": "config_ok", "file": cfg.Path, "profiles": cfg.Names()})
				}
				e.printf("%s: ok, %d profile(s): %v\n", cfg.Path, len(cfg.Profiles), cfg.Names())
				return nil
			},
		}},
	}
}
