"""The scoring runtime behind ``aksml serve``: runs a user's score.py (or fronts an HTTP model
server) with the request semantics of AKS (azureml-fe + azureml-inference-server-http).

Modules: ``settings`` (flags/env/--config), ``script`` (loading and calling score.py),
``swagger`` (documents from inference-schema decorators), ``gate`` (FIFO admission),
``backends`` / ``workers`` / ``proxy`` (thread, worker-process and proxy back ends), ``worker``
(the worker process), ``httpproto`` (the HTTP/1.1 protocol over httptools), ``app`` (routing,
auth, request ids, admission), ``auth`` (key and token auth), ``metrics`` (Prometheus),
``hooks`` (finished-request observers), ``server`` (startup, signals, drain). Never imports
Pulumi.
"""
