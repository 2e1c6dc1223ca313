"""Preview warnings (aksml.plan.notices): model data collected without a durable sink."""

from __future__ import annotations

from typing import Any

from aksml.plan import plan_webservice
from aksml.plan.notices import preview_warnings
from startable import scripted

BLOB = "https://acct.blob.core.windows.net/modeldata"


def test_model_data_without_blob_url_warns(config: Any) -> None:
    objs = plan_webservice("svc", config(collect_model_data=True), scripted())
    (warning,) = preview_warnings(objs)
    assert warning.startswith("Deployment svc: collect_model_data=True without")
    assert "lost whenever the pod goes" in warning


def test_durable_sink_or_no_collection_is_quiet(config: Any) -> None:
    with_blob = scripted(data_collection_blob_url=BLOB)
    assert (
        preview_warnings(plan_webservice("svc", config(collect_model_data=True), with_blob)) == []
    )
    assert preview_warnings(plan_webservice("svc", config(), scripted())) == []
