package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"cairn/chunker"
	"cairn/repo"
	"cairn/repo/backend/location"
)

func cmdInit() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "create a new repository",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "pack-size", Usage: "target pack size in `MiB` (default 16, 64 for object stores)"},
			&cli.StringFlag{Name: "copy-chunker-params-from", Usage: "use the chunker parameters of repository `URL` (password from CAIRN_FROM_PASSWORD)"},
		},
		Action: func(c *cli.Context) error {
			e := newEnv(c)
			be, err := e.openBackend(true)
			if err != nil {
				return err
			}
			pw, err := e.password("enter password for new repository: ", true)
			if err != nil {
				return err
			}
			opts := repo.InitOptions{Options: e.repoOptions(), PackSize: c.Int("pack-size") << 20}
			// Object stores charge per request: bigger packs by default.
			if kind, _ := location.Kind(c.String("repo")); kind != "local" && opts.PackSize == 0 {
				opts.PackSize = repo.DefaultObjectPackSize
			}
			if from := c.String("copy-chunker-params-from"); from != "" {
				p, err := chunkerParamsFrom(c, from)
				if err != nil {
					return err
				}
				opts.Chunker = &p
			}
			r, err := repo.Init(c.Context, be, pw, opts)
			if err != nil {
				return err
			}
			defer r.Close()
			if e.json {
				return e.printJSON(map[string]any{"message_type": "initialized", "id": r.Config().ID, "repository": be.Location()})
			}
			e.printf("created cairn repository %s at %s\n", r.Config().ID[:10], be.Location())
			e.printf("Keep the password safe: without it the data cannot be recovered.\n")
			return nil
		},
	}
}

func chunkerParamsFrom(c *cli.Context, loc string) (chunker.Params, error) {
	be, err := openLocation(c.Context, loc, false, nil, 5)
	if err != nil {
		return chunker.Params{}, err
	}
	pw, ok := lookupEnv("CAIRN_FROM_PASSWORD")
	if !ok {
		return chunker.Params{}, fmt.Errorf("set CAIRN_FROM_PASSWORD to open %s", loc)
	}
	r, err := repo.Open(c.Context, be, pw, repo.Options{NoCache: true})
	if err != nil {
		return chunker.Params{}, fmt.Errorf("open %s: %w", loc, err)
	}
	defer r.Close()
	return r.ChunkerParams(), nil
}
