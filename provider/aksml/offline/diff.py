"""Pure diff of two sets of rendered Kubernetes objects (``aksml diff``).

Objects are matched by (apiVersion, kind, namespace, name) read from the YAML, never from file
names. For each change the module says whether Kubernetes (and so ``pulumi up``) will update
the object in place or has to replace it (delete + create): immutable fields, explicit-name
and namespace changes. Output as plain/colour text lines or a PR-comment Markdown document.
No I/O except ``load_objects`` reading a directory.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from aksml.errors import WebserviceException

ObjectKey = tuple[str, str, str, str]
"""(apiVersion, kind, namespace, name); namespace is '' when the manifest sets none."""

Status = Literal["added", "changed", "removed"]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

MARKDOWN_MARKER = "<!-- aksml-diff -->"
"""First line of the Markdown output: lets a workflow find and update its own PR comment."""

MARKDOWN_LIMIT = 60_000
"""GitHub comments hold 65 536 characters; per-object diffs are dropped beyond this size."""


@dataclass(frozen=True)
class K8sObject:
    """One Kubernetes object read from a render directory."""

    key: ObjectKey
    """(apiVersion, kind, namespace, name)."""
    doc: dict[str, Any]
    """The manifest."""
    source: str
    """File it came from (relative to the directory)."""

    @property
    def label(self) -> str:
        """``Kind namespace/name`` (``Kind name`` without a namespace)."""
        return label(self.key)


def label(key: ObjectKey) -> str:
    """Human name of an object key."""
    _, kind, namespace, name = key
    return f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"


def _docs_in(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".json":
            return [json.loads(text)]
        return [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise WebserviceException(f"Error, {path} is not valid YAML/JSON: {exc}") from exc


def _expand(doc: Any) -> Iterable[Any]:
    if isinstance(doc, Mapping) and str(doc.get("kind", "")).endswith("List"):
        items = doc.get("items")
        if isinstance(items, list):
            for item in items:
                yield from _expand(item)
            return
    yield doc


def object_key(doc: Mapping[str, Any]) -> ObjectKey | None:
    """The key of a manifest, or None when it is not a Kubernetes object."""
    metadata = doc.get("metadata")
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not (
        isinstance(api_version, str) and isinstance(kind, str) and isinstance(metadata, Mapping)
    ):
        return None
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        return None
    namespace = metadata.get("namespace") or ""
    return (api_version, kind, str(namespace), name)


def load_objects(directory: Path) -> dict[ObjectKey, K8sObject]:
    """Every Kubernetes object in the YAML/JSON files under ``directory`` (multi-document files
    and ``*List`` kinds included; other documents such as ``Pulumi.yaml`` are ignored)."""
    if not directory.is_dir():
        raise WebserviceException(f"Error, {directory} is not a directory.")
    objects: dict[ObjectKey, K8sObject] = {}
    for path in sorted(p for p in directory.rglob("*") if p.suffix in MANIFEST_SUFFIXES):
        if not path.is_file() or any(
            part.startswith(".") for part in path.relative_to(directory).parts
        ):
            continue
        source = path.relative_to(directory).as_posix()
        for doc in (d for raw in _docs_in(path) for d in _expand(raw)):
            if not isinstance(doc, Mapping) or (key := object_key(doc)) is None:
                continue
            if key in objects:
                raise WebserviceException(
                    f"Error, {label(key)} ({key[0]}) is defined twice in {directory}: "
                    f"{objects[key].source} and {source}."
                )
            objects[key] = K8sObject(key, dict(doc), source)
    return objects


def dump(doc: Mapping[str, Any]) -> str:
    """Stable YAML for diffing (sorted keys, no line wrapping)."""
    return yaml.safe_dump(dict(doc), sort_keys=True, default_flow_style=False, width=10_000)


def _get(doc: Mapping[str, Any] | None, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


_WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")

# kind -> fields whose change Kubernetes rejects on update (so the object must be replaced)
IMMUTABLE_FIELDS: dict[str, tuple[str, ...]] = {
    **{kind: ("spec.selector",) for kind in _WORKLOADS},
    "StatefulSet": (
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        "spec.podManagementPolicy",
    ),
    "Job": ("spec.selector", "spec.template", "spec.completionMode"),
    "Service": ("spec.clusterIP", "spec.clusterIPs"),
    "PersistentVolumeClaim": (
        "spec.storageClassName",
        "spec.accessModes",
        "spec.volumeName",
        "spec.volumeMode",
        "spec.selector",
        "spec.dataSource",
    ),
    "Secret": ("type",),
}


def _quantity_bytes(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    units = {
        "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50,
        "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
    }  # fmt: skip
    for suffix in sorted(units, key=len, reverse=True):
        if value.endswith(suffix):
            try:
                return float(value[: -len(suffix)]) * units[suffix]
            except ValueError:
                return None
    try:
        return float(value)
    except ValueError:
        return None


DATA_REPLACEMENT_EFFECT = (
    "pulumi-kubernetes replaces a {kind} whose data changes (delete, then create under the "
    "same name). The Deployment does not roll: running pods see the new files in a mounted "
    "volume only after the kubelet resyncs (up to about a minute), environment variables and "
    "subPath mounts taken from it change only when the pods restart, and a pod starting "
    "between the delete and the create waits until it exists again"
)
"""What a data change of a mutable ConfigMap/Secret means for the pods that use it."""


def _data_replacement(kind: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """ConfigMap/Secret: pulumi-kubernetes replaces on any data change (unless the provider
    sets enableConfigMapMutable/enableSecretMutable); Kubernetes itself refuses data changes
    and unsetting ``immutable`` on an immutable one."""
    was, now = before.get("immutable") is True, after.get("immutable") is True
    data_changed = any(before.get(f) != after.get(f) for f in ("data", "binaryData", "stringData"))
    reasons: list[str] = []
    if was and data_changed:
        reasons.append(f"data changed on an immutable {kind}")
    elif data_changed:
        reasons.append(f"data changed; {DATA_REPLACEMENT_EFFECT.format(kind=kind)}")
    if was and not now:
        reasons.append(f"immutable: true cannot be unset on a {kind}")
    return reasons


def replacement_reasons(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Why an update of this object cannot be applied in place (empty: a plain update)."""
    kind = str(after.get("kind"))
    reasons = [
        f"{path} changed ({kind} {path} is immutable)"
        for path in IMMUTABLE_FIELDS.get(kind, ())
        if _get(before, path) != _get(after, path)
    ]
    if kind in ("ConfigMap", "Secret"):
        reasons += _data_replacement(kind, before, after)
    if kind == "PersistentVolumeClaim":
        old = _quantity_bytes(_get(before, "spec.resources.requests.storage"))
        new = _quantity_bytes(_get(after, "spec.resources.requests.storage"))
        if old is not None and new is not None and new < old:
            reasons.append("spec.resources.requests.storage shrinks (volumes can only grow)")
    return reasons


@dataclass(frozen=True)
class ObjectChange:
    """One added, changed or removed object."""

    key: ObjectKey
    """The object's key (for a removal: the base's)."""
    status: Status
    """added / changed / removed."""
    diff: list[str]
    """Unified diff lines (no trailing newlines)."""
    replacements: list[str] = field(default_factory=list)
    """Why this change replaces the object instead of updating it."""

    @property
    def label(self) -> str:
        """``Kind namespace/name``."""
        return label(self.key)


@dataclass(frozen=True)
class DiffResult:
    """Everything ``aksml diff`` reports."""

    changes: list[ObjectChange]
    """Changed objects, sorted by kind, namespace, name, apiVersion."""
    warnings: list[str]
    """Replacements and renames, one sentence each."""
    unchanged: int
    """Objects identical on both sides."""

    def count(self, status: Status) -> int:
        """Number of changes with this status."""
        return sum(1 for change in self.changes if change.status == status)

    @property
    def has_changes(self) -> bool:
        """True when anything was added, changed or removed."""
        return bool(self.changes)

    def summary(self) -> str:
        """``N added, N changed, N removed (N unchanged)``."""
        return (
            f"{self.count('added')} added, {self.count('changed')} changed, "
            f"{self.count('removed')} removed ({self.unchanged} unchanged)"
        )


def _unified(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    key: ObjectKey,
    context: int,
) -> list[str]:
    api_version, kind, namespace, name = key
    path = "/".join(p for p in (api_version, kind, namespace, name) if p)
    lines = difflib.unified_diff(
        dump(before).splitlines() if before is not None else [],
        dump(after).splitlines() if after is not None else [],
        fromfile=f"base/{path}" if before is not None else "/dev/null",
        tofile=f"head/{path}" if after is not None else "/dev/null",
        n=context,
        lineterm="",
    )
    return list(lines)


def _group(key: ObjectKey) -> str:
    api_version = key[0]
    return api_version.split("/")[0] if "/" in api_version else ""


def _rename_warnings(removed: list[ObjectKey], added: list[ObjectKey]) -> list[str]:
    warnings: list[str] = []
    added_left = list(added)
    for old in removed:
        match = next(
            (
                new
                for new in added_left
                if new[1:] == old[1:] and _group(new) == _group(old) and new[0] != old[0]
            ),
            None,
        )
        if match is not None:
            added_left.remove(match)
            warnings.append(
                f"{label(old)}: apiVersion {old[0]} → {match[0]}; the same cluster object, but "
                "Pulumi sees a new resource type (create + delete) unless the resource has an "
                "alias."
            )
            continue
        match = next(
            (
                new
                for new in added_left
                if new[1] == old[1] and new[3] == old[3] and new[2] != old[2]
            ),
            None,
        )
        if match is None:
            same_ns_removed = [o for o in removed if o[1] == old[1] and o[2] == old[2]]
            same_ns_added = [n for n in added_left if n[1] == old[1] and n[2] == old[2]]
            if len(same_ns_removed) == 1 and len(same_ns_added) == 1:
                match = same_ns_added[0]
        if match is not None:
            added_left.remove(match)
            what = "metadata.namespace" if match[2] != old[2] else "metadata.name"
            warnings.append(
                f"{label(old)} → {label(match)}: {what} changed; Kubernetes cannot rename, "
                "so the object is replaced (the old one deleted, a new one created)."
            )
    return warnings


def _display_order(key: ObjectKey) -> tuple[str, str, str, str]:
    return (key[1], key[2], key[3], key[0])


def diff_objects(
    base: Mapping[ObjectKey, K8sObject],
    head: Mapping[ObjectKey, K8sObject],
    context: int = 3,
) -> DiffResult:
    """Compare two renders."""
    changes: list[ObjectChange] = []
    unchanged = 0
    for key in sorted(set(base) | set(head), key=_display_order):
        old, new = base.get(key), head.get(key)
        if old is not None and new is not None:
            if old.doc == new.doc:
                unchanged += 1
                continue
            reasons = replacement_reasons(old.doc, new.doc)
            changes.append(
                ObjectChange(key, "changed", _unified(old.doc, new.doc, key, context), reasons)
            )
        elif new is not None:
            changes.append(ObjectChange(key, "added", _unified(None, new.doc, key, context)))
        elif old is not None:
            changes.append(ObjectChange(key, "removed", _unified(old.doc, None, key, context)))
    warnings = [
        f"{change.label}: replaced, not updated: {reason}."
        for change in changes
        for reason in change.replacements
    ]
    removed = [c.key for c in changes if c.status == "removed"]
    added = [c.key for c in changes if c.status == "added"]
    warnings.extend(_rename_warnings(removed, added))
    return DiffResult(changes, warnings, unchanged)


# --- text output -------------------------------------------------------------------------------

_MARK: dict[Status, str] = {"added": "+", "changed": "~", "removed": "-"}

TextLine = tuple[str, str]
"""(style, text): a rich style name ('' for none) and the line."""


def text_lines(result: DiffResult) -> list[TextLine]:
    """The terminal report as (style, text) lines: per object a header and its unified diff,
    then the warnings and the summary line."""
    out: list[TextLine] = []
    for change in result.changes:
        header_style = {"added": "bold green", "changed": "bold yellow", "removed": "bold red"}
        out.append(
            (
                header_style[change.status],
                f"{_MARK[change.status]} {change.key[0]} {change.label} ({change.status})",
            )
        )
        for reason in change.replacements:
            out.append(("bold magenta", f"  ! replacement: {reason}"))
        for line in change.diff:
            if line.startswith(("---", "+++")):
                style = "bold"
            elif line.startswith("@@"):
                style = "cyan"
            elif line.startswith("+"):
                style = "green"
            elif line.startswith("-"):
                style = "red"
            else:
                style = ""
            out.append((style, line))
        out.append(("", ""))
    if result.warnings:
        out.append(("bold magenta", f"Warnings ({len(result.warnings)}):"))
        out.extend(("magenta", f"  ! {warning}") for warning in result.warnings)
    out.append(("bold", result.summary()))
    return out


# --- markdown output -----------------------------------------------------------------------------


def _fence(lines: list[str]) -> str:
    """A code fence longer than any backtick run in the content."""
    ticks = 3
    for line in lines:
        run = 0
        for char in line:
            run = run + 1 if char == "`" else 0
            ticks = max(ticks, run + 1)
    return "`" * ticks


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def markdown(result: DiffResult, base_label: str = "base", head_label: str = "head") -> str:
    """A PR comment: summary, replacement warnings, an object table and a collapsible unified
    diff per object (dropped, with a note, when the comment would exceed GitHub's limit)."""
    title = f"## aksml diff: `{base_label}` → `{head_label}`"
    if not result.has_changes:
        return (
            f"{MARKDOWN_MARKER}\n{title}\n\nNo changes to Kubernetes objects "
            f"({result.unchanged} unchanged).\n"
        )
    parts = [MARKDOWN_MARKER, title, "", f"**{result.summary()}**", ""]
    if result.warnings:
        parts += ["> [!WARNING]", f"> **{len(result.warnings)} replacement warning(s)**:"]
        parts += [f"> - {_md_escape(w)}" for w in result.warnings]
        parts.append("")
    parts += ["| | object | apiVersion | change |", "|---|---|---|---|"]
    for change in result.changes:
        flag = " ⚠️ replaced" if change.replacements else ""
        parts.append(
            f"| {_MARK[change.status]} | `{change.label}` | `{change.key[0]}` | "
            f"{change.status}{flag} |"
        )
    parts.append("")
    head = "\n".join(parts)
    details: list[str] = []
    size = len(head)
    dropped = 0
    for change in result.changes:
        fence = _fence(change.diff)
        block = "\n".join(
            [
                f"<details><summary><code>{_MARK[change.status]} {_md_escape(change.label)}"
                f"</code> ({change.status})</summary>",
                "",
                f"{fence}diff",
                *change.diff,
                fence,
                "",
                "</details>",
                "",
            ]
        )
        if size + len(block) > MARKDOWN_LIMIT:
            dropped += 1
            continue
        size += len(block)
        details.append(block)
    if dropped:
        details.append(
            f"_{dropped} object diff(s) left out to fit a GitHub comment; run `aksml diff` "
            "locally for the full output._\n"
        )
    return head + "\n" + "\n".join(details)
