package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	dapr "github.com/dapr/go-sdk/client"
)

// fileSource is the local catalog source: a file polled for changes. Polling (stat, then a
// read only when size or modification time moved) works the same for an editor's
// write-in-place, an atomic rename and a mounted ConfigMap's symlink swap.
type fileSource struct {
	path string
	poll time.Duration
}

func (f *fileSource) Watch(ctx context.Context, updates chan<- []byte) error {
	var last os.FileInfo
	var lastData []byte
	t := time.NewTicker(f.poll)
	defer t.Stop()
	for {
		fi, err := os.Stat(f.path)
		if err != nil {
			return fmt.Errorf("catalog file: %w", err)
		}
		// A same-size write in the clock tick of the last one leaves size and mtime as
		// they were; while the mtime is that recent, compare the bytes instead.
		racy := time.Since(fi.ModTime()) < f.poll+time.Second
		if last == nil || racy || fi.ModTime() != last.ModTime() || fi.Size() != last.Size() {
			data, err := os.ReadFile(f.path)
			if err != nil {
				return fmt.Errorf("catalog file: %w", err)
			}
			last = fi
			if !bytes.Equal(data, lastData) {
				lastData = data
				select {
				case updates <- data:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// configClient is the part of the Dapr client the configuration source uses.
type configClient interface {
	GetConfigurationItem(ctx context.Context, storeName, key string, opts ...dapr.ConfigurationOpt) (*dapr.ConfigurationItem, error)
	SubscribeConfigurationItems(ctx context.Context, storeName string, keys []string, handler dapr.ConfigurationHandleFunction, opts ...dapr.ConfigurationOpt) (string, error)
}

// configSource is the Kubernetes catalog source: the catalog ConfigMap served by a Dapr
// `configuration.kubernetes` store, which watches the ConfigMap, so a `helm upgrade` with a
// new catalog arrives in seconds without restarting a pod (a mounted ConfigMap file is
// refreshed by the kubelet only about once a minute).
type configSource struct {
	client configClient
	store  string
	key    string
	log    *slog.Logger
}

func (c *configSource) Watch(ctx context.Context, updates chan<- []byte) error {
	item, err := c.client.GetConfigurationItem(ctx, c.store, c.key)
	if err != nil {
		return fmt.Errorf("get %s/%s: %w", c.store, c.key, err)
	}
	if item == nil {
		return fmt.Errorf("configuration store %s has no key %s", c.store, c.key)
	}
	select {
	case updates <- []byte(item.Value):
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err = c.client.SubscribeConfigurationItems(ctx, c.store, []string{c.key}, func(_ string, items map[string]*dapr.ConfigurationItem) {
		if it, ok := items[c.key]; ok && it != nil {
			select {
			case updates <- []byte(it.Value):
			case <-ctx.Done():
			}
		}
	})
	if err != nil {
		return fmt.Errorf("subscribe %s/%s: %w", c.store, c.key, err)
	}
	<-ctx.Done()
	return ctx.Err()
}
