# Kafka Restaurants. `make run` starts everything locally; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

MODULES  := apps/kit apps/api apps/transactions apps/email apps/bank apps/catalog tools tests tests/k8s
SERVICES := api transactions email bank catalog
CATALOG  ?=

include helm/images.mk

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: deps
deps: ## install the Debian packages the stack and tests use (nginx, kcat, chromium), when missing
	@tools/deps.sh

.PHONY: tools
tools: ## build the pinned third-party tools (daprd, mailpit, jaeger, helm) into .tools/bin, once per version
	@tools/build-tools.sh daprd mailpit jaeger helm

.PHONY: build
build: ## build every service and dev tool into bin/
	@mkdir -p bin
	@for s in $(SERVICES); do go build -trimpath -o bin/$$s ./apps/$$s || exit 1; done
	@go build -trimpath -o bin/broker ./tools/cmd/broker
	@go build -trimpath -o bin/devstack ./tools/cmd/devstack
	@go build -trimpath -o bin/dlq ./tools/cmd/dlq
	@go build -trimpath -o bin/load ./tools/cmd/load

.PHONY: run
run: deps tools build ## set up (first time) and run the whole system; Ctrl-C stops it (CATALOG=path to serve another catalog)
	@bin/devstack $(if $(CATALOG),-catalog $(CATALOG))

.PHONY: infra
infra: tools build ## run only Kafka, mailpit and the bank, for `dapr run -f dapr/` with the real dapr CLI
	@bin/devstack -infra-only

.PHONY: dlq
dlq: build ## list the dead-letter topics of a running stack (bin/dlq replay puts them back)
	@bin/dlq list

.PHONY: load
load: build ## 30 s of mixed load through nginx on a running `make run` stack (see docs/BENCHMARKS.md)
	@mkdir -p .run && bin/load -rate 200 -orders 0.1 -d 30s -json .run/load.json -svg .run/load.svg

.PHONY: soak
soak: build ## 10 minutes of mixed load, with each process's CPU and memory growth
	@mkdir -p .run && bin/load -rate 200 -orders 0.05 -soak 10m -json .run/soak.json -svg .run/soak.svg

.PHONY: bench
bench: ## Go benchmarks of the hot paths (search, request decoding, events)
	@cd apps/kit && go test -run - -bench . -benchmem ./catalog ./events ./service
	@cd apps/api && go test -run - -bench . -benchmem

# Each fuzz target runs for FUZZTIME on top of its committed corpus (which every `go test`
# replays): request decoding, search parameters, event decoding, the catalog loader, the
# topic handler and log redaction.
FUZZTIME ?= 4s
FUZZ := apps/api:FuzzPlaceOrder apps/kit/catalog:FuzzParse apps/kit/catalog:FuzzParseQuery \
	apps/kit/events:FuzzDecodeOrderPlaced apps/kit/events:FuzzDecodeOrderCharged apps/kit/events:FuzzDecodeOrderNotified \
	apps/kit/service:FuzzTopicHandler apps/kit/card:FuzzRedact apps/catalog:FuzzLoad

.PHONY: fuzz
fuzz: ## a short fuzzing run of every fuzz target (FUZZTIME=4s each; make fuzz FUZZTIME=5m to dig)
	@for t in $(FUZZ); do d=$${t%%:*}; f=$${t##*:}; echo "== fuzz $$f ($$d)"; \
	  (cd $$d && go test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) .) || exit 1; done

.PHONY: faults
faults: deps tools build ## the fault-injection suite at full size (1,000 orders per scenario, about 8 min); prints its table
	@cd tests && FAULTS=full go test -count=1 -timeout 30m -run TestFaults ./faults/; s=$$?; cat $(CURDIR)/.run/faults.md; exit $$s

.PHONY: lint
lint: ## gofmt, go vet and staticcheck every module
	@tools/build-tools.sh staticcheck
	@unformatted=$$(gofmt -l apps tools tests); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@for m in $(MODULES); do (cd $$m && go vet ./... && $(CURDIR)/.tools/bin/staticcheck ./...) || exit 1; done

.PHONY: test
test: deps tools build lint ## run every test: unit, fuzzing (short), end-to-end on real sidecars, browser, faults (short), chart validation, the charts on a real cluster (k8s-test)
	@set -o pipefail; for m in $(MODULES); do \
	  echo "== $$m"; (cd $$m && go test -count=1 -timeout 25m ./...) || exit 1; \
	done
	@$(MAKE) --no-print-directory fuzz
	@$(MAKE) --no-print-directory k8s-test

# A single-node Kubernetes on this machine (tools/k8s, docs/KUBERNETES.md): Kubernetes,
# CoreDNS, the Dapr control plane, kube-router and the image builder are built once into
# .tools/; all of the cluster's state lives under .run/k8s.
K8S_TOOLS := dapr-cp kube coredns kube-router helm argocd

.PHONY: k8s-tools
k8s-tools: ## build what the local cluster needs (once; about 20 minutes cold on 2 cores) and install its Debian packages
	@tools/k8s/deps.sh
	@tools/build-tools.sh $(K8S_TOOLS)

.PHONY: k8s-up
k8s-up: k8s-tools build ## bring up the single-node cluster and install everything in it, for a look around (make k8s-down ends it)
	@tools/k8s/cluster.sh up && tools/k8s/deploy.sh && echo "$$(tools/k8s/cluster.sh env)"

.PHONY: k8s-down
k8s-down: ## stop the local cluster and put the host back as it was
	@tools/k8s/cluster.sh down

.PHONY: k8s-test
k8s-test: k8s-tools build ## the cluster end to end: up, install the charts, tests/cluster, down (pass or fail)
	@tools/k8s/test.sh

.PHONY: clean
clean: ## remove builds and local data (not the tool cache)
	rm -rf bin .data .run
