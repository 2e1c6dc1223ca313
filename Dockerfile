# syntax=docker/dockerfile:1
# The aksml runtime image: `aksml serve` (the scoring server) on python slim.
#
# * runs as the non-root uid/gid 10001 (the pod spec's runAsUser);
# * read-only-root-filesystem friendly: nothing is written at run time except under /tmp
#   (HOME and TMPDIR point there; bytecode is compiled at build time and never written later);
# * the locked runtime dependencies (uv.lock) without the Pulumi SDKs, which only the
#   deploy-side components need;
# * score.py and its code come from the pod (ConfigMap / image layer under /var/azureml-app),
#   extra pip packages from an init container on PYTHONPATH (/opt/aksml/packages).
#
# Build:  docker build -t aksml-runtime .
# Run:    docker run --read-only --tmpfs /tmp -p 5001:5001 \
#           -v "$PWD/examples/score:/var/azureml-app:ro" \
#           -e AZUREML_ENTRY_SCRIPT=score.py -e AKSML_AUTH=none aksml-runtime

ARG PYTHON_VERSION=3.11

FROM python:${PYTHON_VERSION}-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
# third-party dependencies first (cached layer): locked versions, runtime + Azure sinks, no
# Pulumi SDKs (their transitive gRPC/protobuf stay: harmless, and cheaper than a second lock)
RUN uv export --frozen --no-dev --extra azure --no-emit-project --no-hashes \
      | grep -v -E '^(pulumi|pulumi-kubernetes|pulumi-random|pulumi-azure-native|pulumi-azuread|pulumi-docker-build)==' \
      > /tmp/requirements.txt \
 && uv venv /opt/aksml/venv \
 && uv pip install --python /opt/aksml/venv/bin/python --no-cache -r /tmp/requirements.txt
COPY provider ./provider
RUN uv pip install --python /opt/aksml/venv/bin/python --no-cache --no-deps . \
 && /opt/aksml/venv/bin/python -m compileall -q /opt/aksml/venv \
 && /opt/aksml/venv/bin/python -c "import aksml.cli, aksml.runtime.server, aksml.runtime.workers, aksml.runtime.proxy" \
 && /opt/aksml/venv/bin/aksml serve --help > /dev/null

FROM python:${PYTHON_VERSION}-slim
ARG UID=10001
RUN groupadd --gid "${UID}" aksml \
 && useradd --uid "${UID}" --gid "${UID}" --no-create-home --home-dir /tmp --shell /usr/sbin/nologin aksml \
 && mkdir -p /var/azureml-app /opt/aksml/packages \
 && chown "${UID}:${UID}" /var/azureml-app
COPY --from=build /opt/aksml/venv /opt/aksml/venv
ENV PATH=/opt/aksml/venv/bin:$PATH \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AML_APP_ROOT=/var/azureml-app \
    AKSML_HOST=0.0.0.0 \
    AKSML_PORT=5001 \
    AKSML_METRICS_PORT=9090
WORKDIR /var/azureml-app
USER 10001:10001
EXPOSE 5001 9090
STOPSIGNAL SIGTERM
ENTRYPOINT ["aksml", "serve"]
