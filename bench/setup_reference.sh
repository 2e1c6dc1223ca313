#!/usr/bin/env bash
# Create (once) the reference server's own virtualenv: azureml-inference-server-http 1.5.1.
# It lives OUTSIDE the project venv because the reference pins OpenTelemetry 1.33 while aksml
# needs a newer one. Idempotent: re-running only checks the installed version.
# Usage: bench/setup_reference.sh            (prints the venv path on stdout, last line)
# Env:   AKSML_REF_VENV  venv location (default ~/.cache/aksml-ref/azmlinfsrv)
#        AKSML_REF_PYTHON  interpreter for the venv (default 3.11)
# numpy and pandas (inference-schema's numpy/pandas support, for the payload scenarios and the
# differential tests) are installed at the versions of the project's own environment, so both
# servers convert payloads with the same libraries.
set -euo pipefail

ref_version="1.5.1"
venv="${AKSML_REF_VENV:-$HOME/.cache/aksml-ref/azmlinfsrv}"
python="${AKSML_REF_PYTHON:-3.11}"

installed=""
if [ -x "$venv/bin/python" ]; then
  installed=$("$venv/bin/python" -c \
    'import importlib.metadata as m; print(m.version("azureml-inference-server-http"))' \
    2>/dev/null || true)
fi
if [ "$installed" != "$ref_version" ]; then
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || uv venv -q --python "$python" "$venv"
  uv pip install -q --python "$venv/bin/python" "azureml-inference-server-http==$ref_version" >&2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
project_python="$here/../.venv/bin/python"
want=""
for pkg in numpy pandas; do
  pin=""
  if [ -x "$project_python" ]; then
    pin=$("$project_python" -c "import importlib.metadata as m; print(m.version('$pkg'))" 2>/dev/null || true)
  fi
  have=$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$pkg'))" 2>/dev/null || true)
  if [ -z "$have" ] || { [ -n "$pin" ] && [ "$have" != "$pin" ]; }; then
    want="$want $pkg${pin:+==$pin}"
  fi
done
if [ -n "$want" ]; then
  # shellcheck disable=SC2086
  uv pip install -q --python "$venv/bin/python" $want >&2
fi
"$venv/bin/python" -c 'import azureml_inference_server_http, gunicorn, numpy, pandas' >&2
[ -x "$venv/bin/azmlinfsrv" ] || { echo "setup_reference: $venv/bin/azmlinfsrv missing" >&2; exit 1; }
echo "$venv"
