# Container images of Kafka Restaurants, included by the top-level Makefile. One recipe,
# tools/cmd/images (tools/images): no Docker daemon, no Dockerfiles, no registry needed.
#   make images                               every image → .run/images/<name>.tar
#   make images IMAGES="api frontend" TAG=0.2.0
#   make push REGISTRY=ghcr.io/me TAG=0.2.0   build and push to a registry
# Names: $(REGISTRY)/<name>:$(TAG) for what this repository builds (the chart's
# image.registry / image.tag); the prebuilt tools keep their pinned versions
# ($(REGISTRY)/dapr/daprd:1.18.0, $(REGISTRY)/mailpit:v1.33.1, $(REGISTRY)/coredns:1.13.2)
# and the pod sandbox is registry.k8s.io/pause:3.10. `make images-list` shows them all.
# IMAGES takes names or groups: go, app, dapr, debian, cluster (empty: every image).
# Load a tarball with `minikube image load`, `ctr -n k8s.io images import` or `docker load -i`.
# The Debian-based images (frontend, postgresql) need root for mmdebstrap the first time;
# their root file systems are then cached under .tools/images (IMAGES_FLAGS=-refresh-rootfs
# makes them again, for security updates).

REGISTRY ?= kafka-restaurants
TAG ?= dev
IMAGES ?=
IMAGES_OUT ?= .run/images
IMAGES_FLAGS ?=
IMAGES_TOOL = go run ./tools/cmd/images

.PHONY: images push images-list

images: ## build the container images without Docker into .run/images/<name>.tar (REGISTRY, TAG, IMAGES)
	$(IMAGES_TOOL) -registry $(REGISTRY) -tag $(TAG) -out $(IMAGES_OUT) $(IMAGES_FLAGS) $(IMAGES)

push: ## build the container images and push them to REGISTRY with tag TAG
	$(IMAGES_TOOL) -push $(REGISTRY) -tag $(TAG) $(IMAGES_FLAGS) $(IMAGES)

images-list: ## list the images `make images` builds and their names
	@$(IMAGES_TOOL) -list -registry $(REGISTRY) -tag $(TAG) $(IMAGES)
