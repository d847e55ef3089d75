package main

import (
	"errors"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"cairn/repo"
)

func lookupEnv(k string) (string, bool) { return os.LookupEnv(k) }

func newPassword(c *cli.Context, e *env) (string, error) {
	if f := c.String("new-password-file"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		return firstLine(b), nil
	}
	if pw, ok := os.LookupEnv("CAIRN_NEW_PASSWORD"); ok {
		return pw, nil
	}
	return e.promptPassword("enter new password: ", true)
}

func cmdKey() *cli.Command {
	newPw := &cli.StringFlag{Name: "new-password-file", Usage: "read the new password from `FILE` (or CAIRN_NEW_PASSWORD)"}
	withRepo := func(kind repo.LockKind, fn func(c *cli.Context, e *env, r *repo.Repository) error) cli.ActionFunc {
		return func(c *cli.Context) error {
			e := newEnv(c)
			r, err := e.openRepo(c.Context)
			if err != nil {
				return err
			}
			defer r.Close()
			lock, err := r.Lock(c.Context, kind, "key")
			if err != nil {
				return err
			}
			defer lock.Unlock()
			return fn(c, e, r)
		}
	}
	return &cli.Command{
		Name:  "key",
		Usage: "manage the passwords (key files) of a repository",
		Subcommands: []*cli.Command{
			{Name: "list", Usage: "list key files", Action: withRepo(repo.LockShared, func(c *cli.Context, e *env, r *repo.Repository) error {
				keys, err := r.ListKeys(c.Context)
				if err != nil {
					return err
				}
				if e.json {
					return e.printJSON(keys)
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 2, 2, ' ', 0)
				defer tw.Flush()
				e.printf("")
				if !e.quiet {
					tw.Write([]byte(" \tID\tUser\tHost\tCreated\n"))
					for _, k := range keys {
						cur := " "
						if k.Current {
							cur = "*"
						}
						tw.Write([]byte(cur + "\t" + k.ID.Short() + "\t" + k.Username + "\t" + k.Host + "\t" + k.Created.Format(time.DateTime) + "\n"))
					}
				}
				return nil
			})},
			{Name: "add", Usage: "add a password", Flags: []cli.Flag{newPw}, Action: withRepo(repo.LockShared, func(c *cli.Context, e *env, r *repo.Repository) error {
				pw, err := newPassword(c, e)
				if err != nil {
					return err
				}
				id, err := r.AddKey(c.Context, pw)
				if err != nil {
					return err
				}
				e.printf("saved new key %s\n", id.Short())
				return nil
			})},
			{Name: "remove", Usage: "remove the key file `ID`", ArgsUsage: "ID", Action: withRepo(repo.LockExclusive, func(c *cli.Context, e *env, r *repo.Repository) error {
				if c.NArg() != 1 {
					return errors.New("key remove needs exactly one key id")
				}
				id, err := r.ResolveKeyID(c.Context, c.Args().First())
				if err != nil {
					return err
				}
				if err := r.RemoveKey(c.Context, id); err != nil {
					return err
				}
				e.printf("removed key %s\n", id.Short())
				return nil
			})},
			{Name: "passwd", Usage: "change the password of the current key", Flags: []cli.Flag{newPw}, Action: withRepo(repo.LockExclusive, func(c *cli.Context, e *env, r *repo.Repository) error {
				pw, err := newPassword(c, e)
				if err != nil {
					return err
				}
				id, err := r.ChangePassword(c.Context, pw)
				if err != nil {
					return err
				}
				e.printf("changed password; new key %s\n", id.Short())
				return nil
			})},
		},
	}
}
