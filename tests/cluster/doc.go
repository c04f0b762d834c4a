// Package cluster tests Kafka Restaurants on a real single-node Kubernetes with Dapr's
// control plane injecting sidecars: the cluster `make k8s-test` brings up on this machine
// (tools/k8s) with the charts installed as a minikube user installs them. The tests carry
// the build tag `cluster` and read the cluster from KUBECONFIG: run them with
// `make k8s-test` (which brings the cluster up and down around them), or with
// `make k8s-up` then `go test -tags cluster ./cluster/` from tests/.
package cluster
