// Command strimzi-status is the status half of the local cluster's Strimzi stand-in
// (tools/k8s/charts/strimzi-kafka-operator). Strimzi's operator cannot run on this machine
// (its images cannot be had), so the project's own Kafka-protocol broker serves the
// Kafka cluster that helm/kafka-cluster declares; this command, beside it in the same pod,
// reports what Strimzi's operator would: once the broker accepts connections, every
// Kafka, KafkaTopic and KafkaUser in its namespace gets a Ready condition for its current
// generation. Argo CD's health checks for these kinds (and anyone running
// `kubectl wait --for=condition=Ready kafka/...`) read exactly that.
//
// It runs in a pod with a ServiceAccount allowed to list those kinds and patch their status
// subresource, and talks to the API server with plain HTTPS (no client library).
//
//	strimzi-status -broker 127.0.0.1:9092 -every 2s
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// serviceAccount is where Kubernetes mounts a pod's API credentials.
const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount"

// kinds are the Strimzi resources whose readiness this reports (plural names).
var kinds = []string{"kafkas", "kafkatopics", "kafkausers"}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("service", "strimzi-status")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, log, os.Args[1:])
	stop()
	if err != nil {
		log.Error("stopped", "error", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("strimzi-status", flag.ContinueOnError)
	broker := fs.String("broker", "127.0.0.1:9092", "the broker's address: resources are Ready only while it accepts connections")
	every := fs.Duration("every", 2*time.Second, "how often to look for resources to report on")
	version := fs.String("api-version", "v1beta2", "the kafka.strimzi.io version to read and patch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	api, err := inCluster(*version)
	if err != nil {
		return err
	}
	tick := time.NewTicker(*every)
	defer tick.Stop()
	for {
		if err := dialOK(ctx, *broker); err != nil {
			log.Info("broker not accepting connections yet", "broker", *broker, "error", err)
		} else if err := api.reconcile(ctx, log, time.Now().UTC()); err != nil {
			log.Warn("reconcile", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func dialOK(ctx context.Context, addr string) error {
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// client is the API server, as the pod's ServiceAccount, in the pod's namespace.
type client struct {
	http      *http.Client
	base      string // https://host:port/apis/kafka.strimzi.io/<version>/namespaces/<ns>
	tokenFile string
}

func inCluster(version string) (*client, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
	}
	ca, err := os.ReadFile(serviceAccount + "/ca.crt")
	if err != nil {
		return nil, err
	}
	ns, err := os.ReadFile(serviceAccount + "/namespace")
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, errors.New("no certificate in the service account's ca.crt")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	return &client{
		http:      &http.Client{Transport: tr, Timeout: 10 * time.Second},
		base:      fmt.Sprintf("https://%s/apis/kafka.strimzi.io/%s/namespaces/%s", net.JoinHostPort(host, port), version, strings.TrimSpace(string(ns))),
		tokenFile: serviceAccount + "/token",
	}, nil
}

// resource is what this reads of a Strimzi resource.
type resource struct {
	Metadata struct {
		Name       string `json:"name"`
		Generation int64  `json:"generation"`
	} `json:"metadata"`
	Status *struct {
		ObservedGeneration int64       `json:"observedGeneration"`
		Conditions         []condition `json:"conditions"`
	} `json:"status"`
}

type condition struct {
	Type               string `json:"type"`
	Status             string `json:"status"`
	Reason             string `json:"reason,omitempty"`
	Message            string `json:"message,omitempty"`
	LastTransitionTime string `json:"lastTransitionTime,omitempty"`
}

// ready reports whether r already says Ready for its current generation.
func (r resource) ready() bool {
	if r.Status == nil || r.Status.ObservedGeneration != r.Metadata.Generation {
		return false
	}
	for _, c := range r.Status.Conditions {
		if c.Type == "Ready" && c.Status == "True" {
			return true
		}
	}
	return false
}

// readyPatch is the merge patch of the status subresource that makes r Ready.
func readyPatch(r resource, now time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{"status": map[string]any{
		"observedGeneration": r.Metadata.Generation,
		"conditions": []condition{{
			Type: "Ready", Status: "True", Reason: "ServedByStandIn",
			Message:            "served by the project's Kafka-protocol broker, standing in for Strimzi's operator in the local cluster",
			LastTransitionTime: now.Format(time.RFC3339),
		}},
	}})
}

// reconcile marks every resource of every kind Ready that is not yet.
func (c *client) reconcile(ctx context.Context, log *slog.Logger, now time.Time) error {
	var errs []error
	for _, kind := range kinds {
		var list struct {
			Items []resource `json:"items"`
		}
		status, err := c.do(ctx, http.MethodGet, "/"+kind, "", nil, &list)
		if status == http.StatusNotFound { // the CRD is not installed: nothing of that kind
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, r := range list.Items {
			if r.ready() {
				continue
			}
			patch, err := readyPatch(r, now)
			if err != nil {
				return err
			}
			if _, err := c.do(ctx, http.MethodPatch, "/"+kind+"/"+r.Metadata.Name+"/status", "application/merge-patch+json", patch, nil); err != nil {
				errs = append(errs, err)
				continue
			}
			log.Info("marked ready", "kind", kind, "name", r.Metadata.Name, "generation", r.Metadata.Generation)
		}
	}
	return errors.Join(errs...)
}

func (c *client) do(ctx context.Context, method, path, contentType string, body []byte, out any) (int, error) {
	token, err := os.ReadFile(c.tokenFile) // rotated by the kubelet: read each time
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(raw))
	}
	if out != nil {
		return resp.StatusCode, json.Unmarshal(raw, out)
	}
	return resp.StatusCode, nil
}
