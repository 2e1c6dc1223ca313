"""The container lane: the runtime image built from the repository's Dockerfile and the
examples' rendered pods run with ``podman kube play`` (``aksml.offline.engine`` adapts them,
as for ``aksml serve --engine podman``).

Every test here carries the ``containers`` marker. When podman cannot run, the lane FAILS
with one line saying why (``scripts/test`` installs and configures it); deselect it
explicitly with ``-m "not containers"``.

Environment:
* ``AKSML_LANE_BASE_IMAGE``: a base image to build on instead of building one from Debian
  packages (``scripts/base-image``; cached by the hash of that script).
* ``AKSML_LANE_CA_BUNDLE``: the CA bundle the build and the init containers trust (default:
  the host's /etc/ssl/certs/ca-certificates.crt when it exists).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aksml.errors import WebserviceException
from aksml.offline import engine as eng

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from lanekit import ROOT  # noqa: E402

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@pytest.fixture(scope="session")
def podman() -> eng.Engine:
    """The podman engine, checked by running a container; the lane fails when it cannot."""
    try:
        engine = eng.Engine("podman")
        engine.run("info", "--format", "{{.Host.OCIRuntime.Name}}", timeout=60)
    except (WebserviceException, OSError, subprocess.SubprocessError) as exc:
        pytest.fail(
            f"container lane: podman cannot run ({exc}); run scripts/test, which installs "
            "and configures it, or deselect with -m 'not containers'",
            pytrace=False,
        )
    return engine


def _ca_bundle() -> Path | None:
    configured = os.environ.get("AKSML_LANE_CA_BUNDLE")
    if configured:
        return Path(configured)
    return HOST_CA_BUNDLE if HOST_CA_BUNDLE.is_file() else None


def _base_image(podman: eng.Engine) -> str:
    configured = os.environ.get("AKSML_LANE_BASE_IMAGE")
    if configured:
        return configured
    script = ROOT / "scripts" / "base-image"
    tag = "localhost/aksml-base:" + hashlib.sha256(script.read_bytes()).hexdigest()[:12]
    if _exists(podman, tag):
        return tag
    subprocess.run([str(script), tag], check=True, capture_output=True, timeout=900)
    return tag


def _exists(podman: eng.Engine, image: str) -> bool:
    proc = subprocess.run([podman.binary, "image", "exists", image], check=False)
    return proc.returncode == 0


@pytest.fixture(scope="session")
def runtime_image(podman: eng.Engine) -> str:
    """The runtime image built from the repository's Dockerfile (layer cache kept)."""
    tag = "localhost/aksml-runtime:lane"
    args = ["build", "-q", "-t", tag, "--build-arg", f"BASE_IMAGE={_base_image(podman)}"]
    ca = _ca_bundle()
    if ca is not None:
        args += ["--secret", f"id=ca_bundle,src={ca}"]
    podman.run(*args, str(ROOT), timeout=1200)
    return tag
