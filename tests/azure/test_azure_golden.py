"""Golden render of examples/azure (``aksml render`` under the mock engine, with the stand-in
Azure values of ``aksml.azure.offline``): a pull request that changes what the Azure example
deploys shows the manifest diff; the objects pass the same checks as the other examples.

Regenerate after an intended change (then review and commit the diff):

    uv run aksml render examples/azure -o tests/azure/golden --clean
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate

from aksml.azure import offline
from aksml.offline.render import render_program
from aksml.plan import file_name, to_yaml
from aksml.plan.checks import consistency_problems, pod_security_problems

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"
REGENERATE = "uv run aksml render examples/azure -o tests/azure/golden --clean"


def test_azure_example_render_matches_golden() -> None:
    objs = render_program(ROOT / "examples" / "azure")
    rendered = {file_name(o): to_yaml(o) for o in objs}
    golden = {p.name: p.read_text(encoding="utf-8") for p in sorted(GOLDEN.glob("*.yaml"))}
    assert sorted(rendered) == sorted(golden), f"object set drifted; regenerate: {REGENERATE}"
    for name, text in rendered.items():
        assert text == golden[name], f"{name} drifted; regenerate: {REGENERATE}"
    assert pod_security_problems(objs) == []
    assert consistency_problems(objs) == []
    for obj in objs:
        for version in ("1.30.0", "1.33.0"):
            kubernetes_validate.validate(obj, version, strict=True)


def test_golden_shows_the_wiring_and_no_keys() -> None:
    deployment = (GOLDEN / "deployment-churn.yaml").read_text(encoding="utf-8")
    service_account = (GOLDEN / "serviceaccount-churn.yaml").read_text(encoding="utf-8")
    assert f"azure.workload.identity/client-id: {offline.ZERO_GUID}" in service_account
    assert "azure.workload.identity/use: 'true'" in deployment
    assert "mountWithWorkloadIdentityToken: 'true'" in deployment
    assert "/modeldata" in deployment and "APPLICATIONINSIGHTS_CONNECTION_STRING" in deployment
    everything = "".join(p.read_text(encoding="utf-8") for p in GOLDEN.glob("*.yaml")).lower()
    assert "accountkey" not in everything and "sig=" not in everything
    assert "instrumentationkey" not in everything  # the connection string stays redacted


def test_offline_values_have_real_shapes() -> None:
    assert offline.invoke_result("azure-native:storage:listStorageAccountKeys", {}) is None
    rid, state = offline.resource_state(
        "azure-native:storage:StorageAccount", "x-storage", {"accountName": "acct1"}
    )
    assert rid == (
        f"/subscriptions/{offline.SUBSCRIPTION}/resourceGroups/render/providers/"
        "Microsoft.Storage/storageAccounts/acct1"
    )
    assert state["name"] == "acct1"
