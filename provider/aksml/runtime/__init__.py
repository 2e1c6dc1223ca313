"""The aksml scoring runtime: the HTTP server that runs a user's ``score.py`` in each pod.

Never imports Pulumi. Started with ``aksml serve``.
"""
