"""Start azureml-inference-server-http (``azmlinfsrv``) bound to 127.0.0.1.

azmlinfsrv 1.5.1 hard-codes ``0.0.0.0`` (``constants.DEFAULT_HOST``) in the gunicorn argv it
builds; everything else -- argument parsing, config, logging, gunicorn sync worker,
``--timeout``, access log -- is kept as is by calling the real entry point after replacing
only that constant. Run it with the reference venv's interpreter, with azmlinfsrv's own
arguments: ``python bench/ref_loopback.py --entry_script score.py --port 5001``.
"""

import sys

from azureml_inference_server_http import amlserver

amlserver.DEFAULT_HOST = "127.0.0.1"  # type: ignore[attr-defined]

if __name__ == "__main__":
    sys.exit(amlserver.run())
