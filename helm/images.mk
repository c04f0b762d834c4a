# Container images of Kafka Restaurants, included by the top-level Makefile.
#   make images                          build every image as $(REGISTRY)/<name>:$(TAG)
#   make images REGISTRY=ghcr.io/me TAG=0.2.0
#   make push   REGISTRY=ghcr.io/me TAG=0.2.0
# The names match the Helm chart's image.registry/image.tag values. For minikube, build
# straight into its Docker daemon: eval $$(minikube docker-env) && make images TAG=dev
# Every image builds from the repository root (the Go workspace) as its context.

REGISTRY ?= kafka-restaurants
TAG ?= dev
DOCKER ?= docker
IMAGE_PLATFORM ?=

GO_IMAGES := api transactions email catalog bank
IMAGES := $(GO_IMAGES) frontend

dockerfile_of = $(if $(filter frontend,$(1)),frontend/Dockerfile,apps/$(1)/Dockerfile)

.PHONY: images push $(addprefix image-,$(IMAGES)) $(addprefix push-,$(IMAGES))

images: $(addprefix image-,$(IMAGES)) ## build every container image as $(REGISTRY)/<name>:$(TAG)

$(addprefix image-,$(IMAGES)): image-%:
	DOCKER_BUILDKIT=1 $(DOCKER) build $(if $(IMAGE_PLATFORM),--platform $(IMAGE_PLATFORM)) \
		-f $(call dockerfile_of,$*) -t $(REGISTRY)/$*:$(TAG) .

push: $(addprefix push-,$(IMAGES)) ## push every image to $(REGISTRY) (after make images)

$(addprefix push-,$(IMAGES)): push-%: image-%
	$(DOCKER) push $(REGISTRY)/$*:$(TAG)
