"""The component argument TypedDicts are generated from the parameter tables
(``aksml.components.argsgen``); the checked-in module must be what the tables give."""

from __future__ import annotations

import ast

import pytest

from aksml.components import argsgen
from aksml.components.args import AksWebserviceArgs
from aksml.components.endpoint_args import AksEndpointArgs, AksEndpointVersionArgs
from aksml.plan.settings import WorkloadSettings
from aksml.v1 import params as P

_TYPED_DICTS: dict[argsgen.Where, type] = {
    "service": AksWebserviceArgs,
    "version": AksEndpointVersionArgs,
    "endpoint": AksEndpointArgs,
}


def test_checked_in_module_is_what_the_tables_generate() -> None:
    assert argsgen.GENERATED_FILE.read_text(encoding="utf-8") == argsgen.render(), (
        f"{argsgen.GENERATED_FILE.name} is stale: run `{argsgen.COMMAND}`"
    )


def _docstrings(class_name: str) -> dict[str, str]:
    """Field -> docstring as Pulumi's analyzer reads it (the class's own source)."""
    tree = ast.parse(argsgen.GENERATED_FILE.read_text(encoding="utf-8"))
    (node,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name]
    out = {}
    for field, doc in zip(node.body, node.body[1:], strict=False):
        if isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name):
            assert isinstance(doc, ast.Expr) and isinstance(doc.value, ast.Constant)
            out[field.target.id] = " ".join(str(doc.value.value).split())
    return out


@pytest.mark.parametrize("where", list(_TYPED_DICTS))
def test_every_field_carries_its_table_description(where: argsgen.Where) -> None:
    typed_dict = _TYPED_DICTS[where]
    docs = _docstrings(typed_dict.__name__)
    assert list(docs) == list(typed_dict.__annotations__) == list(argsgen.field_names(where))
    for name, doc in docs.items():
        row = P.BY_NAME.get(name)
        if row is not None:
            override = {"service": "", "version": row.version_doc, "endpoint": row.endpoint_doc}
            assert doc == (override[where] or row.doc), name
        elif name in WorkloadSettings.model_fields and where != "endpoint":
            assert doc == " ".join(str(WorkloadSettings.model_fields[name].description).split())
        assert doc, name


def test_generated_types_keep_the_pulumi_input_shapes() -> None:
    annotations = {k: str(v) for k, v in AksWebserviceArgs.__annotations__.items()}
    assert annotations["cpu_cores"].startswith("typing.NotRequired[typing.Union[float, ")
    assert "Awaitable[float]" in annotations["cpu_cores"]
    assert AksEndpointVersionArgs.__required_keys__ == frozenset({"version_name"})
    assert AksEndpointArgs.__required_keys__ == frozenset({"versions"})
    assert AksWebserviceArgs.__required_keys__ == frozenset()
    # plain (no pulumi.Input) where the component reads the value itself
    for name in ("timeouts", "primary_key_generation", "azure"):
        assert "Awaitable" not in annotations[name], name
