// Command mkimage writes container image archives without a registry or docker, for demos and
// tests (`podrun load`, `images.Store.Load`).
//
//	go run ./hack/mkimage busybox -o FILE [-t REF] [--format docker|oci] [--busybox /bin/busybox]
//	go run ./hack/mkimage demoapp -o FILE [-t REF] [--format docker|oci] [--busybox PATH]
//	                              [--src ./hack/demoapp | --demoapp-bin PATH]
//	go run ./hack/mkimage dir --rootfs DIR -o FILE -t REF [--layer DIR]... [--entrypoint JSON]
//	                          [--cmd JSON] [--env K=V]... [--workdir D] [--user U]
//	                          [--stopsignal S] [--format docker|oci]
//
// In `dir`, --rootfs is the lowest layer and each --layer another one on top, in order. A file
// named ".wh.<name>" in a layer dir deletes <name> of the layers below (".wh..wh..opq" hides a
// whole directory's lower contents), exactly as in a layer tar.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/podrun/podrun/images/imagebuild"
)

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func usage() {
	fmt.Fprint(os.Stderr, `usage:
  mkimage busybox -o FILE [-t REF] [--format docker|oci] [--busybox PATH]
  mkimage demoapp -o FILE [-t REF] [--format docker|oci] [--busybox PATH] [--src DIR | --demoapp-bin PATH]
  mkimage dir --rootfs DIR -o FILE -t REF [--layer DIR]... [--entrypoint JSON] [--cmd JSON]
              [--env K=V]... [--workdir D] [--user U] [--stopsignal S] [--format docker|oci]
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run(verb string, args []string) error {
	fs := flag.NewFlagSet("mkimage "+verb, flag.ContinueOnError)
	fs.Usage = usage
	out := fs.String("o", "", "output archive `FILE`")
	ref := fs.String("t", "", "image reference to tag")
	format := fs.String("format", "docker", "archive format: docker or oci")
	busybox := fs.String("busybox", "/bin/busybox", "static busybox binary")
	var (
		src, demoBin              *string
		rootfs, entrypoint, cmd   *string
		workdir, user, stopsignal *string
		layers, envs              listFlag
	)
	switch verb {
	case "busybox":
	case "demoapp":
		src = fs.String("src", "./hack/demoapp", "demoapp source directory")
		demoBin = fs.String("demoapp-bin", "", "use this demoapp binary instead of building it")
	case "dir":
		rootfs = fs.String("rootfs", "", "lowest layer directory")
		fs.Var(&layers, "layer", "another layer directory on top (repeatable)")
		entrypoint = fs.String("entrypoint", "", `Entrypoint as a JSON array, e.g. '["/bin/sh","-c"]'`)
		cmd = fs.String("cmd", "", "Cmd as a JSON array")
		fs.Var(&envs, "env", "K=V environment variable (repeatable)")
		workdir = fs.String("workdir", "", "WorkingDir")
		user = fs.String("user", "", "User")
		stopsignal = fs.String("stopsignal", "", "StopSignal, e.g. SIGTERM")
	case "-h", "--help", "help":
		usage()
		return nil
	default:
		usage()
		return fmt.Errorf("unknown image kind %q (want busybox, demoapp or dir)", verb)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		return errors.New("-o FILE is required")
	}
	f := imagebuild.Format(*format)
	if f != imagebuild.FormatDocker && f != imagebuild.FormatOCI {
		return fmt.Errorf("--format %q: want docker or oci", *format)
	}

	switch verb {
	case "busybox":
		if *ref == "" {
			*ref = imagebuild.BusyboxRef
		}
		img, err := imagebuild.Busybox(*busybox, f)
		if err != nil {
			return err
		}
		return imagebuild.WriteArchive(*out, *ref, img, f)
	case "demoapp":
		if *ref == "" {
			*ref = imagebuild.DemoappRef
		}
		bin := *demoBin
		if bin == "" {
			tmp, err := os.MkdirTemp("", "mkimage-demoapp-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			if bin, err = imagebuild.BuildDemoapp(*src, tmp); err != nil {
				return err
			}
		}
		img, err := imagebuild.Demoapp(*busybox, bin, f)
		if err != nil {
			return err
		}
		return imagebuild.WriteArchive(*out, *ref, img, f)
	default: // dir
		if *ref == "" {
			return errors.New("-t REF is required")
		}
		dirs := layers
		if *rootfs != "" {
			dirs = append([]string{*rootfs}, layers...)
		}
		if len(dirs) == 0 {
			return errors.New("--rootfs DIR is required")
		}
		cfg := imagebuild.Config{Env: envs, WorkingDir: *workdir, User: *user, StopSignal: *stopsignal}
		if err := jsonList(*entrypoint, "--entrypoint", &cfg.Entrypoint); err != nil {
			return err
		}
		if err := jsonList(*cmd, "--cmd", &cfg.Cmd); err != nil {
			return err
		}
		var tars [][]byte
		for _, d := range dirs {
			entries, err := imagebuild.DirEntries(d)
			if err != nil {
				return err
			}
			t, err := imagebuild.LayerTar(entries)
			if err != nil {
				return err
			}
			tars = append(tars, t)
		}
		img, err := imagebuild.Image(tars, cfg, f)
		if err != nil {
			return err
		}
		return imagebuild.WriteArchive(*out, *ref, img, f)
	}
}

func jsonList(s, flagName string, dst *[]string) error {
	if s == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("%s %q: want a JSON array of strings: %w", flagName, s, err)
	}
	return nil
}
