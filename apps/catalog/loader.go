package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalog"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/catalogstate"
	"github.com/kafka-restaurants/kafka-restaurants/apps/kit/service"
)

func timeNow() time.Time { return time.Now().UTC() }

// source yields the catalog's raw bytes each time they may have changed.
type source interface {
	Watch(ctx context.Context, updates chan<- []byte) error
}

// catalogStore writes a version's chunks and then the pointer.
type catalogStore interface {
	Current(ctx context.Context) (catalogstate.Pointer, bool, error)
	Publish(ctx context.Context, p catalogstate.Pointer, chunks [][]byte) error
	Delete(ctx context.Context, p catalogstate.Pointer) error
}

// loader validates what the source yields and publishes what is new.
type loader struct {
	store catalogStore
	log   *slog.Logger
	now   func() time.Time
	// after is time.After; tests replace it to release the old version's deletion.
	after func(time.Duration) <-chan time.Time

	// pubMu orders publishing a version and retiring an old one.
	pubMu sync.Mutex

	mu        sync.Mutex
	published catalogstate.Pointer
	lastError string
}

func (l *loader) run(ctx context.Context, src source) {
	updates := make(chan []byte)
	go func() {
		for {
			err := src.Watch(ctx, updates)
			if ctx.Err() != nil {
				return
			}
			l.log.Warn("catalog source failed; watching again", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case data := <-updates:
			if err := l.load(ctx, data); err != nil && ctx.Err() == nil {
				l.log.Error(err.Error())
			}
		}
	}
}

// load publishes data as the current catalog unless it is invalid or already current. A
// store failure is retried until it succeeds or ctx ends, so a sidecar that comes up after
// the loader still gets the catalog.
func (l *loader) load(ctx context.Context, data []byte) error {
	c, err := catalog.Parse(data)
	if err != nil {
		l.setError(err.Error())
		return fmt.Errorf("%w; the previous version keeps serving", err)
	}
	canonical, err := c.Marshal()
	if err != nil {
		return err
	}
	p, chunks := catalogstate.Split(c.Version, canonical, len(c.Restaurants), l.now())
	for attempt := 0; ; attempt++ {
		err = l.publish(ctx, p, chunks)
		if err == nil {
			l.setError("")
			return nil
		}
		if attempt == 0 {
			l.log.Warn("cannot publish catalog yet; retrying", "version", p.Version, "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(time.Duration(attempt+1)*200*time.Millisecond, 2*time.Second)):
		}
	}
}

func (l *loader) publish(ctx context.Context, p catalogstate.Pointer, chunks [][]byte) error {
	l.pubMu.Lock()
	defer l.pubMu.Unlock()
	cur, found, err := l.store.Current(ctx)
	if err != nil {
		return err
	}
	if found && cur.Version == p.Version {
		l.setPublished(cur)
		return nil
	}
	if err := l.store.Publish(ctx, p, chunks); err != nil {
		return err
	}
	l.setPublished(p)
	l.log.Info("catalog published", "version", p.Version, "restaurants", p.Restaurants, "bytes", p.Size, "chunks", p.Chunks)
	if found {
		// Readers move to the new version within a poll; drop the old chunks after that.
		after := l.after
		if after == nil {
			after = time.After
		}
		go func() {
			select {
			case <-ctx.Done():
			case <-after(30 * time.Second):
				l.retire(context.WithoutCancel(ctx), cur)
			}
		}()
	}
	return nil
}

// retire deletes an old version's chunks unless that version is current again: a catalog
// changed and changed back within the delay (A → B → A) had its live chunks deleted, and
// every reader that started after that refused the catalog (found on a real cluster by a
// ConfigMap edit and its revert, tests/cluster).
func (l *loader) retire(ctx context.Context, old catalogstate.Pointer) {
	l.pubMu.Lock()
	defer l.pubMu.Unlock() // no publish of this loader between the check and the delete
	cur, found, err := l.store.Current(ctx)
	if err != nil {
		l.log.Warn("old catalog version not deleted", "version", old.Version, "error", err)
		return
	}
	if published, _ := l.status(); (found && cur.Version == old.Version) || published.Version == old.Version {
		l.log.Info("old catalog version is current again; kept", "version", old.Version)
		return
	}
	if err := l.store.Delete(ctx, old); err != nil {
		l.log.Warn("old catalog version not deleted", "version", old.Version, "error", err)
	}
}

func (l *loader) setPublished(p catalogstate.Pointer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.published = p
}

func (l *loader) setError(e string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastError = e
}

func (l *loader) status() (catalogstate.Pointer, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.published, l.lastError
}

func (l *loader) routes(appToken, daprHTTPPort string) http.Handler {
	// Ready once a version is published.
	r := service.NewRouter(l.log, appToken, func(ctx context.Context) error {
		if err := service.SidecarReady(ctx, daprHTTPPort); err != nil {
			return err
		}
		if p, _ := l.status(); p.Version == "" {
			return errors.New("no catalog published yet")
		}
		return nil
	})
	// status: which version is published and why the last candidate was rejected, if it was.
	r.Get("/status", func(w http.ResponseWriter, _ *http.Request) {
		p, e := l.status()
		service.WriteJSON(w, http.StatusOK, map[string]any{"published": p, "lastRejection": e})
	})
	return r
}
