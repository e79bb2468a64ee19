// Command aio-ferretdb runs FerretDB 1.24 (MongoDB wire protocol) on SQLite through FerretDB's
// embeddable package. It exists because `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`
// builds a binary that panics at start (a generated version file is not in the module download); the
// embeddable package does not need that file.
//
// It runs in the foreground, logs to stdout and stops cleanly on SIGTERM / SIGINT (a second signal,
// or connections that do not close within -shutdown-timeout, forces the exit).
//
//	aio-ferretdb -listen-addr 127.0.0.1:27017 -sqlite-dir .infra/ferretdb/data
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address (host:port) to listen on")
	unixSocket := flag.String("listen-unix", "", "optional Unix domain socket path to listen on as well")
	sqliteDir := flag.String("sqlite-dir", "data", "directory holding the SQLite databases (one file per database; created if missing)")
	logLevel := flag.String("log-level", "info", "log level: debug, info, warn or error")
	logFormat := flag.String("log-format", "text", "log format: text or json")
	shutdownTimeout := flag.Duration("shutdown-timeout", 10*time.Second, "how long to wait for open connections after a stop signal")
	flag.Parse()

	logger, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "aio-ferretdb: %s\n", err)
		os.Exit(2)
	}
	slog.SetDefault(logger)

	if err := run(logger, *listenAddr, *unixSocket, *sqliteDir, *shutdownTimeout); err != nil {
		logger.Error("aio-ferretdb failed", slog.String("error", err.Error()))
		os.Exit(1)
	}
}

func run(logger *slog.Logger, listenAddr, unixSocket, sqliteDir string, shutdownTimeout time.Duration) error {
	dir, err := filepath.Abs(sqliteDir)
	if err != nil {
		return fmt.Errorf("sqlite dir %q: %w", sqliteDir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create sqlite dir %q: %w", dir, err)
	}

	// The SQLite handler wants a `file:` URI naming an existing directory, with a trailing slash.
	sqliteURL := "file:" + strings.TrimSuffix(filepath.ToSlash(dir), "/") + "/"

	// ferretdb.New disables telemetry itself (and locks it); it also opens the listeners, so a port
	// already in use fails here, before Run.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{
			TCP:  listenAddr,
			Unix: unixSocket,
		},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		return fmt.Errorf("cannot start FerretDB on %s: %w", listenAddr, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	logger.Info("FerretDB listening",
		slog.String("uri", f.MongoDBURI()),
		slog.String("handler", "sqlite"),
		slog.String("sqlite_url", sqliteURL),
		slog.Int("pid", os.Getpid()),
	)

	select {
	case err := <-done:
		if ctx.Err() != nil && err == nil {
			logger.Info("FerretDB stopped")
			return nil
		}
		// Run only returns on its own when it could not serve.
		if err == nil {
			err = errors.New("FerretDB stopped unexpectedly")
		}
		return err
	case <-ctx.Done():
	}

	stop() // a second SIGTERM / SIGINT now kills the process with the default action
	logger.Info("stop signal received, shutting down")

	select {
	case err := <-done:
		if err != nil {
			return err
		}
		logger.Info("FerretDB stopped")
		return nil
	case <-time.After(shutdownTimeout):
		return fmt.Errorf("connections still open after %s; exiting anyway", shutdownTimeout)
	}
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("invalid -log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(os.Stdout, opts)
	case "json":
		h = slog.NewJSONHandler(os.Stdout, opts)
	default:
		return nil, fmt.Errorf("invalid -log-format %q: want text or json", format)
	}
	return slog.New(quietHandler{h}), nil
}
