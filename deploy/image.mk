# make image: build the agent image from deploy/Dockerfile with docker or
# podman (ENGINE=docker|podman to choose; default: the first one whose
# `info` succeeds).  Without a reachable engine it says so and fails
# (exit 1): no image was built.
IMAGE  ?= registry.example.com/tcprio:0.1.0
ENGINE ?=

.PHONY: image
image: ## build the agent image (IMAGE=name:tag, ENGINE=docker|podman)
	$(Q)engine="$(ENGINE)"; \
	if [ -z "$$engine" ]; then \
	  for e in docker podman; do \
	    if command -v $$e >/dev/null 2>&1 && $$e info >/dev/null 2>&1; then engine=$$e; break; fi; \
	  done; \
	fi; \
	if [ -n "$$engine" ] && ! $$engine info >/dev/null 2>&1; then \
	  echo "image: ENGINE=$$engine is not usable here ('$$engine info' fails)" >&2; engine=""; \
	fi; \
	if [ -z "$$engine" ]; then \
	  echo "image: no container engine available (docker/podman missing or its daemon not reachable);" >&2; \
	  echo "image: build elsewhere with: docker build -f deploy/Dockerfile -t $(IMAGE) ." >&2; \
	  exit 1; \
	fi; \
	echo "  IMAGE    $(IMAGE) ($$engine)"; \
	$$engine build -f deploy/Dockerfile -t $(IMAGE) .
