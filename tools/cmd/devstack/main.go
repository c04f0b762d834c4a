// Command devstack is `make run`: it starts the whole system on this machine from
// dapr/dapr.yaml (the dapr CLI's run file) and dapr/infra.yaml, without the dapr CLI, prints
// where everything is, and on Ctrl-C or SIGTERM stops everything it started.
//
//	devstack [-root .] [-catalog path/to/catalog.json] [-data .data] [-quiet]
//	         [-trace-sampling 0.1] [-profile] [-postgres CONN] [-infra-only]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/kafka-restaurants/kafka-restaurants/tools/devstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "devstack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	root := fs.String("root", "", "repository root (default: the folder holding go.work, searched upward)")
	catalog := fs.String("catalog", "", "catalog file to serve instead of the default one")
	data := fs.String("data", "", "data folder (default ROOT/.data)")
	quiet := fs.Bool("quiet", false, "do not echo process logs (they still go to DATA/logs)")
	sampling := fs.String("trace-sampling", "", `tracing samplingRate for every sidecar, "0" to "1" (default: dapr/config.yaml's)`)
	postgres := fs.String("postgres", "", `run the state stores on PostgreSQL, as the chart does: a connection string such as "host=127.0.0.1 port=5432 user=postgres dbname=kr sslmode=disable" (the database must exist; needs -data)`)
	profiling := fs.Bool("profile", false, "serve pprof from every sidecar (metrics port + 100) and app (app port + 200)")
	infraOnly := fs.Bool("infra-only", false, "start only Kafka, mailpit and the bank (for `dapr run -f dapr/`)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" {
		r, err := findRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	opts := devstack.Options{Root: *root, DataDir: *data, Console: os.Stdout, Env: map[string]map[string]string{}, InfraOnly: *infraOnly,
		TraceSampling: *sampling, Profiling: *profiling}
	if *quiet {
		opts.Console = nil
	}
	if *catalog != "" {
		abs, err := filepath.Abs(*catalog)
		if err != nil {
			return err
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
		opts.Env["catalog"] = map[string]string{"CATALOG_FILE": abs}
	}
	if *postgres != "" {
		if *data == "" {
			return errors.New("-postgres needs a -data folder of its own")
		}
		dir := filepath.Join(*data, "components-postgres")
		if _, err := devstack.PostgresComponents(filepath.Join(*root, "components"), dir, *postgres); err != nil {
			return fmt.Errorf("postgres components: %w", err)
		}
		opts.ComponentsDir = dir
	}
	fmt.Println("starting Kafka Restaurants...")
	s, err := devstack.Start(ctx, opts)
	if err != nil {
		return err
	}
	if *infraOnly {
		fmt.Println("\nKafka (127.0.0.1:9092), mailpit (http://127.0.0.1:8025) and the bank (http://127.0.0.1:5100) are running.\nIn another terminal: dapr run -f dapr/    Ctrl-C here stops them.")
	} else {
		fmt.Print(s.Summary())
	}
	werr := s.Wait(ctx)
	fmt.Println("stopping...")
	s.Stop()
	fmt.Println("stopped; nothing left running.")
	return werr
}

func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (a folder with go.work); pass -root")
		}
		dir = parent
	}
}
