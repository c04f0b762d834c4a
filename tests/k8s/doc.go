// Package k8s validates the Helm charts under helm/ without a cluster: it renders
// every chart for every values profile with the Helm SDK, lints them strictly, decodes
// every object strictly against the Kubernetes API types, validates custom resources
// against the CRD schemas of Dapr, Argo CD and Strimzi, and checks that the parts agree
// with each other and with the local Dapr components in components/.
package k8s
