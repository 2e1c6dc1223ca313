"""Offline tools that need no cluster: render, diff, migrate and the local run of a program."""
