"""Pulumi mocks for component tests: a fresh recording Mocks + MockMonitor per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pytest
from pulumi.runtime import mocks, settings

SECRET_SIG = "4dabf18193072939515e22adb298388d"


def unwrap(value: Any) -> Any:
    """Mock inputs with secret wrappers removed (compare plain values)."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


@dataclass
class Recorder(pulumi.runtime.Mocks):
    """Records every registration; fakes RandomPassword results and object status."""

    lb_address: dict[str, str] | None = None
    deployment_status: dict[str, Any] | None = field(
        default_factory=lambda: {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}
    )
    registered: list[mocks.MockResourceArgs] = field(default_factory=list)
    preview: bool = False
    """Like a preview of a create: only inputs come back (generated values stay unknown)."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.registered.append(args)
        state = dict(args.inputs)
        if self.preview:
            return f"{args.name}-id", state
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = f"generated-{args.name}"
        if args.typ == "kubernetes:core/v1:Service":
            state["status"] = (
                {"loadBalancer": {"ingress": [self.lb_address]}} if self.lb_address else {}
            )
        if args.typ == "kubernetes:networking.k8s.io/v1:Ingress" and self.lb_address:
            state["status"] = {"loadBalancer": {"ingress": [self.lb_address]}}
        if args.typ == "kubernetes:apps/v1:Deployment" and self.deployment_status is not None:
            state["status"] = self.deployment_status
        return f"{args.name}-id", state

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    @staticmethod
    def unwrap(value: Any) -> Any:
        """``value`` without secret wrappers."""
        return unwrap(value)

    def children(self) -> list[mocks.MockResourceArgs]:
        """Custom resources (the component's children), in registration order."""
        return [r for r in self.registered if r.custom]

    def by_type(self, typ: str) -> list[mocks.MockResourceArgs]:
        return [r for r in self.children() if r.typ == typ]

    def one(self, typ: str) -> dict[str, Any]:
        found = self.by_type(typ)
        assert len(found) == 1, f"{len(found)} x {typ}"
        inputs: dict[str, Any] = unwrap(found[0].inputs)
        return inputs


@dataclass
class MockEnv:
    recorder: Recorder
    monitor: mocks.MockMonitor

    def urns(self) -> list[str]:
        return list(self.monitor.get_registered_resources())


MockFactory = Callable[..., MockEnv]


@pytest.fixture
def pulumi_mocks() -> Iterator[MockFactory]:
    """Call with (preview=False, lb_address=None, ...) inside the test to set mocks up."""
    saved = deepcopy(settings.SETTINGS)

    def make(preview: bool = False, **recorder_kw: Any) -> MockEnv:
        recorder = Recorder(preview=preview, **recorder_kw)
        monitor = mocks.MockMonitor(recorder)
        settings.ROOT.set(None)
        mocks.set_mocks(recorder, project="proj", stack="dev", preview=preview, monitor=monitor)
        return MockEnv(recorder, monitor)

    try:
        yield make
    finally:
        settings.configure(saved)
        settings.ROOT.set(None)
