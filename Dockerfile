# syntax=docker/dockerfile:1
# The aksml runtime image: `aksml serve` (the scoring server) on a Debian Python base.
#
# * runs as the non-root uid/gid 10001 (the pod spec's runAsUser);
# * read-only-root-filesystem friendly: nothing is written at run time except under /tmp
#   (HOME and TMPDIR point there; bytecode is compiled at build time and never written later)
#   and /opt/aksml/packages (owned by 10001: the init container pip-installs the environment
#   there when no volume covers it);
# * the locked runtime dependencies (uv.lock) with the Pulumi SDKs and every package only
#   they need pruned (gRPC, protobuf, debugpy, ...): same versions, no second lock;
# * no compilers, no pip or uv caches;
# * score.py and its code come from the pod (ConfigMap / image layer under /var/azureml-app),
#   extra pip packages from an init container on PYTHONPATH (/opt/aksml/packages).
#
# Build:  docker build -t aksml-runtime .
# Run:    docker run --read-only --tmpfs /tmp -p 5001:5001 \
#           -v "$PWD/examples/quickstart/app:/var/azureml-app:ro" \
#           -e AZUREML_ENTRY_SCRIPT=score.py -e AKSML_AUTH=none aksml-runtime
#
# Build arguments:
# * BASE_IMAGE: the Python base of both stages (default python:<PYTHON_VERSION>-slim from
#   Docker Hub). It needs `python` at /usr/local/bin/python with pip >= 22.3: the init
#   container runs `python -m pip --python /opt/aksml/venv/bin/python install --target ...`,
#   so packages are chosen for the runtime's interpreter (the build checks this).
#   Without a registry, scripts/base-image builds one from Debian packages.
# * UV_VERSION: the uv used to export and install the lock (from PyPI).
# * A CA bundle to trust (a TLS-intercepting proxy, a private index): pass it as the build
#   secret `ca_bundle`, e.g. `--secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt`.
#   It is appended to the system bundle of both stages, which pip, uv and Python's ssl
#   use, so the build and the init container's pip trust it too.
# * Proxy variables (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) are predefined build arguments.

ARG PYTHON_VERSION=3.11
ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim

FROM ${BASE_IMAGE} AS base
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then \
      cat /run/secrets/ca_bundle >> /etc/ssl/certs/ca-certificates.crt; \
    fi

FROM base AS build
ARG UV_VERSION=0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/uv && /opt/uv/bin/pip install -q "uv==${UV_VERSION}"
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
# third-party dependencies first (cached layer): locked versions, runtime + Azure sinks; the
# Pulumi SDKs and what only they depend on are pruned from the tree
RUN /opt/uv/bin/uv export --frozen --no-dev --extra azure --no-emit-project --no-hashes \
      --prune pulumi --prune pulumi-kubernetes --prune pulumi-random \
      --prune pulumi-azure-native --prune pulumi-azuread --prune pulumi-docker-build \
      > /tmp/requirements.txt \
 && /opt/uv/bin/uv venv /opt/aksml/venv \
 && /opt/uv/bin/uv pip install --python /opt/aksml/venv/bin/python --no-cache \
      -r /tmp/requirements.txt
COPY provider ./provider
RUN /opt/uv/bin/uv pip install --python /opt/aksml/venv/bin/python --no-cache --no-deps . \
 && /opt/aksml/venv/bin/python -m compileall -q /opt/aksml/venv \
 && /opt/aksml/venv/bin/python -c "import aksml.cli, aksml.runtime.server, aksml.runtime.workers, aksml.runtime.proxy, aksml.runtime.telemetry, aksml.runtime.datacollect_blob" \
 && ! /opt/aksml/venv/bin/python -c "import pulumi" 2>/dev/null \
 && /opt/aksml/venv/bin/aksml serve --help > /dev/null

FROM base
ARG UID=10001
RUN groupadd --gid "${UID}" aksml \
 && useradd --uid "${UID}" --gid "${UID}" --no-create-home --home-dir /tmp --shell /usr/sbin/nologin aksml \
 && mkdir -p /var/azureml-app /opt/aksml/packages \
 && chown "${UID}:${UID}" /var/azureml-app /opt/aksml/packages
COPY --from=build /opt/aksml/venv /opt/aksml/venv
# the init container's installer: the base pip, installing for the runtime's interpreter
RUN /usr/local/bin/python -m pip --python /opt/aksml/venv/bin/python --version > /dev/null
ENV PATH=/opt/aksml/venv/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    AML_APP_ROOT=/var/azureml-app \
    AKSML_HOST=0.0.0.0 \
    AKSML_PORT=5001 \
    AKSML_METRICS_PORT=9090
WORKDIR /var/azureml-app
USER 10001:10001
EXPOSE 5001 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["aksml", "serve"]
