// Command gitserver serves git repositories read-only over git's smart HTTP protocol (git
// http-backend, run as CGI) and a folder of static files beside them. In the local cluster
// (make k8s-test) it is what Argo CD reads: this repository under /git/ and a Helm chart
// repository under /charts/ (the in-cluster copies of the Dapr chart and of the Strimzi
// stand-in, which a user's Argo CD would fetch from their own registries).
//
//	gitserver -listen :8080 -git /srv/git -charts /srv/charts
//
// Pushes are refused (git http-backend's receive-pack is off for unauthenticated requests);
// a test commits to a served repository through the file system.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gitserver:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("gitserver", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "address to serve on")
	gitRoot := fs.String("git", "", "folder of the served repositories (bare or not); /git/<name> serves <folder>/<name>")
	charts := fs.String("charts", "", "folder served as static files under /charts/ (empty: none)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *gitRoot == "" {
		return errors.New("-git is required")
	}
	h, err := handler(*gitRoot, *charts)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv := &http.Server{Addr: *listen, Handler: logged(log, h), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "listen", *listen, "git", *gitRoot, "charts", *charts)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// handler serves /git/ through git http-backend, /charts/ from the charts folder, and
// /healthz.
func handler(gitRoot, charts string) (http.Handler, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git is not installed: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/git/", readOnly(&cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Root: "/git",
		Env: []string{
			"GIT_PROJECT_ROOT=" + gitRoot,
			"GIT_HTTP_EXPORT_ALL=1",
			// The served folders belong to whoever committed to them (the host's user in the
			// local cluster), not to this process: trust them, they are only read.
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=safe.directory", "GIT_CONFIG_VALUE_0=*",
			"HOME=/tmp",
		},
	}))
	if charts != "" {
		mux.Handle("/charts/", http.StripPrefix("/charts/", http.FileServer(http.Dir(charts))))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	return mux, nil
}

// readOnly lets through only what a fetch or clone asks: the ref advertisement for
// upload-pack, and upload-pack itself. Pushes (receive-pack) and anything else are refused
// before git sees them.
func readOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs") && r.URL.Query().Get("service") == "git-upload-pack":
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		default:
			http.Error(w, "this server only serves fetches (git-upload-pack)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func logged(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		if r.URL.Path != "/healthz" {
			log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "took", time.Since(start).String())
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}
