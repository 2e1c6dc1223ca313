"""What the Kubernetes API server refuses, checked on rendered objects at preview.

Structural schema checks (``kubernetes-validate --strict``, CRD schemas) cannot see these: they
are the API server's own validation functions, ported here rule by rule. Each rule cites its
upstream function; the files are (Kubernetes v1.33.0):

- ``core``: https://github.com/kubernetes/kubernetes/blob/v1.33.0/pkg/apis/core/validation/validation.go
- ``apps``: https://github.com/kubernetes/kubernetes/blob/v1.33.0/pkg/apis/apps/validation/validation.go
- ``autoscaling``: https://github.com/kubernetes/kubernetes/blob/v1.33.0/pkg/apis/autoscaling/validation/validation.go
- ``policy``: https://github.com/kubernetes/kubernetes/blob/v1.33.0/pkg/apis/policy/validation/validation.go
- ``networking``: https://github.com/kubernetes/kubernetes/blob/v1.33.0/pkg/apis/networking/validation/validation.go
- ``objectmeta``: https://github.com/kubernetes/kubernetes/blob/v1.33.0/staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go
- ``metav1``: https://github.com/kubernetes/kubernetes/blob/v1.33.0/staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go

Values are checked as sent (before API-server defaulting): a field aksml leaves out is
defaulted by the server to a valid value, so only fields present are checked.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from aksml.plan.apinames import (
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_env_var_name,
    is_label_value,
    is_port_name,
    is_port_number,
    is_qualified_name,
    parse_quantity,
)

Obj = dict[str, Any]

NAME_RULES: dict[str, Callable[[str], list[str]]] = {
    "Namespace": is_dns1123_label,  # core ValidateNamespaceName
    "Service": is_dns1035_label,  # core ValidateServiceName
}
"""``metadata.name`` rule by kind; every other kind here is a DNS-1123 subdomain (core
ValidateConfigMapName/ValidateSecretName/ValidateServiceAccountName, apps ValidateDeploymentName,
autoscaling/policy/networking name rules, and custom resources)."""

TOTAL_ANNOTATION_SIZE = 256 * 1024
"""objectmeta TotalAnnotationSizeLimitB: keys plus values of one object's annotations."""
MAX_DATA_SIZE = 1024 * 1024
"""core MaxSecretSize / ConfigMap total data size (1 MiB)."""

_PROTOCOLS = frozenset({"TCP", "UDP", "SCTP"})
_TOLERATION_EFFECTS = frozenset({"NoSchedule", "PreferNoSchedule", "NoExecute"})
_NON_OVERCOMMIT_PREFIXES = ("hugepages-",)
_STANDARD_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})


class Report:
    """Collects ``<Kind>/<name> <field path>: <message>`` problems for one object."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        """Record one problem at ``path``."""
        self.problems.append(f"{self.where} {path}: {message}")

    def each(self, path: str, errors: Iterable[str], value: Any = None) -> None:
        """Record every message of a string rule (``value`` quoted in front when given)."""
        shown = f"Invalid value: {json.dumps(value)}: " if value is not None else ""
        for error in errors:
            self.add(path, f"{shown}{error}")


def _metadata(obj: Obj, report: Report) -> None:
    """objectmeta ValidateObjectMeta; metav1 ValidateLabels; objectmeta ValidateAnnotations."""
    meta = obj.get("metadata", {})
    name = meta.get("name", "")
    if not name:
        report.add("metadata.name", "Required value: name is required")
    else:
        rule = NAME_RULES.get(obj["kind"], is_dns1123_subdomain)
        report.each("metadata.name", rule(name), name)
    if "namespace" in meta:
        report.each("metadata.namespace", is_dns1123_label(meta["namespace"]), meta["namespace"])
    _labels(meta.get("labels", {}), "metadata.labels", report)
    annotations = meta.get("annotations", {})
    for key in annotations:
        report.each(f"metadata.annotations[{key}]", is_qualified_name(key.lower()), key)
    size = sum(len(k) + len(str(v)) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE:
        report.add(
            "metadata.annotations", f"Too long: must have at most {TOTAL_ANNOTATION_SIZE} bytes"
        )


def _labels(labels: Obj, path: str, report: Report) -> None:
    """metav1 ValidateLabels: qualified-name keys, label values."""
    for key, value in labels.items():
        report.each(f"{path}[{key}]", is_qualified_name(key), key)
        report.each(f"{path}[{key}]", is_label_value(str(value)), value)


def _selector(selector: Obj, path: str, report: Report) -> None:
    """metav1 ValidateLabelSelector: matchLabels and matchExpressions."""
    _labels(selector.get("matchLabels", {}), f"{path}.matchLabels", report)
    for i, expr in enumerate(selector.get("matchExpressions", [])):
        where = f"{path}.matchExpressions[{i}]"
        op, values = expr.get("operator"), expr.get("values", [])
        report.each(f"{where}.key", is_qualified_name(expr.get("key", "")), expr.get("key"))
        if op in ("In", "NotIn") and not values:
            report.add(
                f"{where}.values",
                "Required value: must be specified when `operator` is 'In' or 'NotIn'",
            )
        elif op in ("Exists", "DoesNotExist") and values:
            report.add(
                f"{where}.values",
                "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            report.add(f"{where}.operator", f"Unsupported value: {json.dumps(op)}")


def _int_or_percent(value: Any, path: str, report: Report, allow_zero: bool = True) -> None:
    """apps/policy ValidatePositiveIntOrPercent + IsNotMoreThan100Percent."""
    if isinstance(value, str):
        digits = value[:-1]
        if not value.endswith("%") or not digits.isdigit():
            report.add(
                path,
                f"Invalid value: {json.dumps(value)}: must be an integer or percentage (e.g '5%')",
            )
        elif int(digits) > 100:
            report.add(path, f"Invalid value: {json.dumps(value)}: must not be greater than 100%")
    elif isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        report.add(path, f"Invalid value: {json.dumps(value)}: must be greater than or equal to 0")


def _nonnegative(spec: Obj, fields: Iterable[str], path: str, report: Report) -> None:
    """core ValidateNonnegativeField for each present field."""
    for field in fields:
        value = spec.get(field)
        if value is not None and (not isinstance(value, int) or value < 0):
            report.add(
                f"{path}.{field}", f"Invalid value: {value}: must be greater than or equal to 0"
            )


def _is_zero(value: Any) -> bool:
    return value in (0, "0%")


def _probe(probe: Obj, kind: str, path: str, report: Report) -> None:
    """core validateProbe/validateHandler, plus the liveness/startup successThreshold rule of
    validateContainerCommon/validateInitContainers ("must be 1")."""
    handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if h in probe]
    if len(handlers) != 1:
        report.add(path, "must specify exactly one handler type (exec, httpGet, tcpSocket or grpc)")
    fields = (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    )
    _nonnegative(probe, fields, path, report)
    if kind in ("livenessProbe", "startupProbe") and probe.get("successThreshold", 1) not in (0, 1):
        report.add(
            f"{path}.successThreshold", f"Invalid value: {probe['successThreshold']}: must be 1"
        )
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and grace <= 0:
        report.add(
            f"{path}.terminationGracePeriodSeconds",
            f"Invalid value: {grace}: must be greater than 0",
        )
    http = probe.get("httpGet")
    if http is not None:
        _named_port(http.get("port"), f"{path}.httpGet.port", report)
        if http.get("scheme", "HTTP") not in ("HTTP", "HTTPS"):
            report.add(f"{path}.httpGet.scheme", f"Unsupported value: {json.dumps(http['scheme'])}")


def _named_port(port: Any, path: str, report: Report) -> None:
    """core ValidatePortNumOrName: a port number 1-65535 or an IANA_SVC_NAME."""
    if isinstance(port, str):
        report.each(path, is_port_name(port), port)
    else:
        report.each(path, is_port_number(port), port)


_QUANTITY_MESSAGE = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)


def _quantities(resources: Obj, path: str, report: Report) -> dict[str, dict[str, Decimal]]:
    """core ValidateResourceRequirements, first half: names and quantities valid, >= 0."""
    parsed: dict[str, dict[str, Decimal]] = {"limits": {}, "requests": {}}
    for section in ("limits", "requests"):
        for name, raw in resources.get(section, {}).items():
            where = f"{path}.{section}[{name}]"
            standard = name in _STANDARD_RESOURCES or name.startswith(_NON_OVERCOMMIT_PREFIXES)
            if "/" not in name and not standard:
                shown = json.dumps(name)
                report.add(where, f"Invalid value: {shown}: must be a standard resource type")
            value = parse_quantity(raw)
            if value is None:
                report.add(where, f"Invalid value: {json.dumps(raw)}: {_QUANTITY_MESSAGE}")
            elif value < 0:
                report.add(where, f"Invalid value: {json.dumps(raw)}: must be >= 0")
            else:
                parsed[section][name] = value
    return parsed


def _resources(resources: Obj, path: str, report: Report) -> None:
    """core ValidateResourceRequirements: quantities valid and non-negative, requests <= limits,
    non-overcommittable (hugepages, extended) requests == limits and never without a limit."""
    parsed = _quantities(resources, path, report)
    limits, requests = parsed["limits"], parsed["requests"]
    for name, request in requests.items():
        where = f"{path}.requests[{name}]"
        limit = resources.get("limits", {}).get(name)
        extended = "/" in name and not name.startswith(("kubernetes.io/", "requests."))
        if extended or name.startswith(_NON_OVERCOMMIT_PREFIXES):
            if name not in limits:
                report.add(
                    where, "Required value: Limit must be set for non overcommitable resources"
                )
            elif request != limits[name]:
                report.add(where, f"Invalid value: must be equal to {name} limit of {limit}")
        elif name in limits and request > limits[name]:
            shown = json.dumps(resources["requests"][name])
            report.add(
                where,
                f"Invalid value: {shown}: must be less than or equal to {name} limit of {limit}",
            )


def _env(env: list[Obj], path: str, report: Report) -> None:
    """core validateEnv/validateEnvVarValueFrom: valid names, one value source."""
    for i, var in enumerate(env):
        where = f"{path}[{i}]"
        report.each(f"{where}.name", is_env_var_name(var.get("name", "")), var.get("name"))
        source = var.get("valueFrom")
        if source is not None:
            if len(source) != 1:
                report.add(
                    f"{where}.valueFrom",
                    "Invalid value: may not have more than one field specified at a time",
                )
            if var.get("value"):
                report.add(
                    f"{where}.valueFrom",
                    "Invalid value: may not be specified when `value` is not empty",
                )


def _container(c: Obj, path: str, volumes: set[str], report: Report, init: bool) -> None:
    """core validateContainerCommon / validateContainers / validateInitContainers."""
    report.each(f"{path}.name", is_dns1123_label(c.get("name", "")), c.get("name"))
    image = c.get("image", "")
    if not image:
        report.add(f"{path}.image", "Required value")
    elif image != image.strip():
        report.add(f"{path}.image", "Invalid value: must not have leading or trailing whitespace")
    port_names: set[str] = set()
    for j, port in enumerate(c.get("ports", [])):
        where = f"{path}.ports[{j}]"
        report.each(
            f"{where}.containerPort",
            is_port_number(port.get("containerPort")),
            port.get("containerPort"),
        )
        if "name" in port:
            report.each(f"{where}.name", is_port_name(port["name"]), port["name"])
            if port["name"] in port_names:
                report.add(f"{where}.name", f"Duplicate value: {json.dumps(port['name'])}")
            port_names.add(port["name"])
        if port.get("protocol", "TCP") not in _PROTOCOLS:
            report.add(f"{where}.protocol", f"Unsupported value: {json.dumps(port['protocol'])}")
    _env(c.get("env", []), f"{path}.env", report)
    _resources(c.get("resources", {}), f"{path}.resources", report)
    mount_paths: set[str] = set()
    for j, mount in enumerate(c.get("volumeMounts", [])):
        where = f"{path}.volumeMounts[{j}]"
        if mount.get("name") not in volumes:
            report.add(f"{where}.name", f"Not found: {json.dumps(mount.get('name'))}")
        if not mount.get("mountPath"):
            report.add(f"{where}.mountPath", "Required value")
        elif mount["mountPath"] in mount_paths:
            report.add(f"{where}.mountPath", "Invalid value: must be unique")
        mount_paths.add(mount.get("mountPath", ""))
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if kind in c:
            if init:
                report.add(
                    f"{path}.{kind}",
                    "Forbidden: may not be set for init containers without restartPolicy=Always",
                )
            else:
                _probe(c[kind], kind, f"{path}.{kind}", report)


def _volumes(spec: Obj, path: str, report: Report) -> set[str]:
    """core ValidateVolumes: DNS-1123 label names, unique, exactly one source, valid keys."""
    names: set[str] = set()
    for i, volume in enumerate(spec.get("volumes", [])):
        where = f"{path}.volumes[{i}]"
        name = volume.get("name", "")
        report.each(f"{where}.name", is_dns1123_label(name), name)
        if name in names:
            report.add(f"{where}.name", f"Duplicate value: {json.dumps(name)}")
        names.add(name)
        sources = [k for k in volume if k != "name"]
        if len(sources) != 1:
            report.add(where, "must specify exactly one volume type")
        for source in ("configMap", "secret"):
            for j, item in enumerate(volume.get(source, {}).get("items", [])):
                report.each(
                    f"{where}.{source}.items[{j}].key",
                    is_config_map_key(item.get("key", "")),
                    item.get("key"),
                )
                if (
                    not item.get("path")
                    or item["path"].startswith("/")
                    or ".." in item["path"].split("/")
                ):
                    report.add(
                        f"{where}.{source}.items[{j}].path",
                        "Invalid value: must be a relative path without '..'",
                    )
            mode = volume.get(source, {}).get("defaultMode")
            if mode is not None and not 0 <= mode <= 0o777:
                report.add(
                    f"{where}.{source}.defaultMode",
                    "Invalid value: must be a number between 0 and 0777 (octal)",
                )
        size = volume.get("emptyDir", {}).get("sizeLimit")
        if size is not None and (parse_quantity(size) is None or parse_quantity(size) < 0):  # type: ignore[operator]
            report.add(f"{where}.emptyDir.sizeLimit", f"Invalid value: {json.dumps(size)}")
    return names


def _tolerations(tolerations: list[Obj], path: str, report: Report) -> None:
    """core ValidateTolerations."""
    for i, t in enumerate(tolerations):
        where = f"{path}[{i}]"
        if t.get("key"):
            report.each(f"{where}.key", is_qualified_name(t["key"]), t["key"])
        operator = t.get("operator", "Equal")
        if operator == "Exists" and t.get("value"):
            report.add(
                f"{where}.operator",
                "Invalid value: value must be empty when `operator` is 'Exists'",
            )
        elif operator == "Equal":
            report.each(f"{where}.value", is_label_value(t.get("value", "")), t.get("value"))
        elif operator != "Exists":
            report.add(f"{where}.operator", f"Unsupported value: {json.dumps(operator)}")
        if not t.get("key") and operator != "Exists":
            report.add(
                f"{where}.operator", "Invalid value: operator must be Exists when `key` is empty"
            )
        effect = t.get("effect")
        if effect and effect not in _TOLERATION_EFFECTS:
            report.add(f"{where}.effect", f"Unsupported value: {json.dumps(effect)}")
        if "tolerationSeconds" in t and effect != "NoExecute":
            report.add(
                f"{where}.effect",
                "Invalid value: effect must be 'NoExecute' when `tolerationSeconds` is set",
            )


def _pod_spec(spec: Obj, path: str, report: Report) -> None:
    """core ValidatePodSpec (the parts aksml emits)."""
    volumes = _volumes(spec, path, report)
    names: set[str] = set()
    for group, init in (("initContainers", True), ("containers", False)):
        for i, c in enumerate(spec.get(group, [])):
            _container(c, f"{path}.{group}[{i}]", volumes, report, init)
            if c.get("name") in names:
                report.add(
                    f"{path}.{group}[{i}].name", f"Duplicate value: {json.dumps(c.get('name'))}"
                )
            names.add(c.get("name", ""))
    if not spec.get("containers"):
        report.add(f"{path}.containers", "Required value")
    _nonnegative(spec, ("terminationGracePeriodSeconds",), path, report)
    if spec.get("restartPolicy", "Always") != "Always":
        report.add(
            f"{path}.restartPolicy", "Unsupported value: only 'Always' is allowed in a Deployment"
        )
    if spec.get("serviceAccountName"):
        report.each(
            f"{path}.serviceAccountName",
            is_dns1123_subdomain(spec["serviceAccountName"]),
            spec["serviceAccountName"],
        )
    if spec.get("priorityClassName"):  # core ValidatePodSpec: a PriorityClass name
        report.each(
            f"{path}.priorityClassName",
            is_dns1123_subdomain(spec["priorityClassName"]),
            spec["priorityClassName"],
        )
    _labels(spec.get("nodeSelector", {}), f"{path}.nodeSelector", report)
    _tolerations(spec.get("tolerations", []), f"{path}.tolerations", report)


def _deployment(obj: Obj, report: Report) -> None:
    """apps ValidateDeploymentSpec: replicas, selector matches template labels, strategy."""
    spec = obj.get("spec", {})
    _nonnegative(spec, ("replicas", "minReadySeconds", "revisionHistoryLimit"), "spec", report)
    selector = spec.get("selector", {})
    template = spec.get("template", {})
    labels = template.get("metadata", {}).get("labels", {})
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        report.add("spec.selector", "Invalid value: empty selector is invalid for deployment")
    _selector(selector, "spec.selector", report)
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        report.add(
            "spec.template.metadata.labels",
            "Invalid value: `selector` does not match template `labels`",
        )
    _labels(labels, "spec.template.metadata.labels", report)
    _pod_spec(template.get("spec", {}), "spec.template.spec", report)
    strategy = spec.get("strategy", {})
    rolling = strategy.get("rollingUpdate")
    if rolling is not None:
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            report.add(
                "spec.strategy.rollingUpdate",
                "Forbidden: may not be specified when strategy `type` is 'Recreate'",
            )
        for field in ("maxSurge", "maxUnavailable"):
            if field in rolling:
                _int_or_percent(rolling[field], f"spec.strategy.rollingUpdate.{field}", report)
        if _is_zero(rolling.get("maxSurge", "25%")) and _is_zero(
            rolling.get("maxUnavailable", "25%")
        ):
            report.add(
                "spec.strategy.rollingUpdate.maxUnavailable",
                "Invalid value: may not be 0 when `maxSurge` is 0",
            )
    deadline = spec.get("progressDeadlineSeconds")
    if deadline is not None and deadline <= spec.get("minReadySeconds", 0):
        report.add(
            "spec.progressDeadlineSeconds", "Invalid value: must be greater than minReadySeconds"
        )


def _service(obj: Obj, report: Report) -> None:
    """core ValidateService / validateServicePort."""
    spec = obj.get("spec", {})
    ports = spec.get("ports", [])
    if (
        not ports
        and spec.get("type", "ClusterIP") != "ExternalName"
        and spec.get("clusterIP") != "None"
    ):
        report.add("spec.ports", "Required value")
    names: set[str] = set()
    for i, port in enumerate(ports):
        where = f"spec.ports[{i}]"
        name = port.get("name", "")
        if len(ports) > 1 and not name:
            report.add(f"{where}.name", "Required value")
        if name:
            report.each(f"{where}.name", is_dns1123_label(name), name)
            if name in names:
                report.add(f"{where}.name", f"Duplicate value: {json.dumps(name)}")
            names.add(name)
        report.each(f"{where}.port", is_port_number(port.get("port")), port.get("port"))
        if "targetPort" in port:
            _named_port(port["targetPort"], f"{where}.targetPort", report)
        if port.get("protocol", "TCP") not in _PROTOCOLS:
            report.add(f"{where}.protocol", f"Unsupported value: {json.dumps(port['protocol'])}")
    if spec.get("type", "ClusterIP") not in (
        "ClusterIP",
        "NodePort",
        "LoadBalancer",
        "ExternalName",
    ):
        report.add("spec.type", f"Unsupported value: {json.dumps(spec['type'])}")
    _labels(spec.get("selector", {}), "spec.selector", report)


def _scaling_rules(rules: Obj, path: str, report: Report) -> None:
    """autoscaling validateScalingRules."""
    window = rules.get("stabilizationWindowSeconds")
    if window is not None and not 0 <= window <= 3600:
        report.add(
            f"{path}.stabilizationWindowSeconds",
            f"Invalid value: {window}: must be less than or equal to 3600",
        )
    if rules.get("selectPolicy", "Max") not in ("Max", "Min", "Disabled"):
        report.add(
            f"{path}.selectPolicy", f"Unsupported value: {json.dumps(rules['selectPolicy'])}"
        )
    for i, policy in enumerate(rules.get("policies", [])):
        where = f"{path}.policies[{i}]"
        if policy.get("type") not in ("Pods", "Percent"):
            report.add(f"{where}.type", f"Unsupported value: {json.dumps(policy.get('type'))}")
        if not isinstance(policy.get("value"), int) or policy["value"] <= 0:
            report.add(f"{where}.value", "Invalid value: must be greater than zero")
        if (
            not isinstance(policy.get("periodSeconds"), int)
            or not 0 < policy["periodSeconds"] <= 1800
        ):
            report.add(
                f"{where}.periodSeconds",
                "Invalid value: must be greater than zero and less than or equal to 1800",
            )


def _hpa(obj: Obj, report: Report) -> None:
    """autoscaling ValidateHorizontalPodAutoscalerSpec (autoscaling/v2)."""
    spec = obj.get("spec", {})
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    if not isinstance(low, int) or low < 1:
        report.add("spec.minReplicas", f"Invalid value: {low}: must be greater than or equal to 1")
    if not isinstance(high, int) or high < 1:
        report.add("spec.maxReplicas", f"Invalid value: {high}: must be greater than 0")
    elif isinstance(low, int) and high < low:
        report.add(
            "spec.maxReplicas",
            f"Invalid value: {high}: must be greater than or equal to `minReplicas`",
        )
    ref = spec.get("scaleTargetRef", {})
    for field in ("kind", "name"):
        if not ref.get(field):
            report.add(f"spec.scaleTargetRef.{field}", "Required value")
    for i, metric in enumerate(spec.get("metrics", [])):
        target = metric.get(metric.get("type", "").lower() or "resource", {}).get("target", {})
        where = f"spec.metrics[{i}]"
        if metric.get("type") == "Resource" and not metric["resource"].get("name"):
            report.add(f"{where}.resource.name", "Required value")
        if target.get("type") == "Utilization" and (target.get("averageUtilization") or 0) <= 0:
            report.add(
                f"{where}.target.averageUtilization", "Invalid value: must be greater than 0"
            )
    for direction in ("scaleUp", "scaleDown"):
        rules = spec.get("behavior", {}).get(direction)
        if rules is not None:
            _scaling_rules(rules, f"spec.behavior.{direction}", report)


def _pdb(obj: Obj, report: Report) -> None:
    """policy ValidatePodDisruptionBudgetSpec."""
    spec = obj.get("spec", {})
    if "minAvailable" in spec and "maxUnavailable" in spec:
        report.add("spec", "Invalid value: minAvailable and maxUnavailable cannot be both set")
    for field in ("minAvailable", "maxUnavailable"):
        if field in spec:
            _int_or_percent(spec[field], f"spec.{field}", report)
    _selector(spec.get("selector", {}), "spec.selector", report)
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in ("IfHealthyBudget", "AlwaysAllow"):
        report.add("spec.unhealthyPodEvictionPolicy", f"Unsupported value: {json.dumps(policy)}")


def _network_policy(obj: Obj, report: Report) -> None:
    """networking ValidateNetworkPolicySpec: ports, peers, ipBlocks, policyTypes."""
    spec = obj.get("spec", {})
    _selector(spec.get("podSelector", {}), "spec.podSelector", report)
    for direction, peers_field in (("ingress", "from"), ("egress", "to")):
        for i, rule in enumerate(spec.get(direction, [])):
            where = f"spec.{direction}[{i}]"
            for j, port in enumerate(rule.get("ports", [])):
                _policy_port(port, f"{where}.ports[{j}]", report)
            for j, peer in enumerate(rule.get(peers_field, [])):
                _policy_peer(peer, f"{where}.{peers_field}[{j}]", report)
    for i, kind in enumerate(spec.get("policyTypes", [])):
        if kind not in ("Ingress", "Egress"):
            report.add(f"spec.policyTypes[{i}]", f"Unsupported value: {json.dumps(kind)}")


def _policy_port(port: Obj, path: str, report: Report) -> None:
    """networking ValidateNetworkPolicyPort."""
    if port.get("protocol", "TCP") not in _PROTOCOLS:
        report.add(f"{path}.protocol", f"Unsupported value: {json.dumps(port['protocol'])}")
    if "port" in port:
        _named_port(port["port"], f"{path}.port", report)
    if "endPort" in port:
        if not isinstance(port.get("port"), int):
            report.add(
                f"{path}.endPort",
                "Required value: may not be specified when `port` is not a number",
            )
        elif not isinstance(port["endPort"], int) or port["endPort"] < port["port"]:
            report.add(f"{path}.endPort", "Invalid value: must be greater than or equal to `port`")


def _policy_peer(peer: Obj, path: str, report: Report) -> None:
    """networking ValidateNetworkPolicyPeer and ValidateIPBlock."""
    selectors = [k for k in ("podSelector", "namespaceSelector") if k in peer]
    if "ipBlock" in peer and selectors:
        report.add(path, "Forbidden: may not specify both ipBlock and another peer")
    if "ipBlock" not in peer and not selectors:
        report.add(path, "Required value: must specify a peer")
    for key in selectors:
        _selector(peer[key], f"{path}.{key}", report)
    block = peer.get("ipBlock")
    if block is not None:
        try:
            network = ipaddress.ip_network(block.get("cidr", ""), strict=False)
        except ValueError:
            report.add(
                f"{path}.ipBlock.cidr",
                f"Invalid value: {json.dumps(block.get('cidr'))}: must be a valid CIDR",
            )
            return
        for k, cidr in enumerate(block.get("except", [])):
            try:
                inner = ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                report.add(f"{path}.ipBlock.except[{k}]", "Invalid value: must be a valid CIDR")
                continue
            if inner.version != network.version or not inner.subnet_of(network):  # type: ignore[arg-type]
                report.add(
                    f"{path}.ipBlock.except[{k}]",
                    "Invalid value: must be a strict subset of `cidr`",
                )


def _ingress(obj: Obj, report: Report) -> None:
    """networking ValidateIngressSpec: rules, paths, backends, TLS, class name."""
    spec = obj.get("spec", {})
    if not spec.get("rules") and "defaultBackend" not in spec:
        report.add("spec", "Invalid value: either `defaultBackend` or `rules` must be specified")
    if "defaultBackend" in spec:
        _ingress_backend(spec["defaultBackend"], "spec.defaultBackend", report)
    if spec.get("ingressClassName"):
        report.each(
            "spec.ingressClassName",
            is_dns1123_subdomain(spec["ingressClassName"]),
            spec["ingressClassName"],
        )
    for i, rule in enumerate(spec.get("rules", [])):
        where = f"spec.rules[{i}]"
        host = rule.get("host")
        if host:
            _ingress_host(host, f"{where}.host", report)
        for j, entry in enumerate(rule.get("http", {}).get("paths", [])):
            at = f"{where}.http.paths[{j}]"
            kind = entry.get("pathType")
            if kind not in ("Exact", "Prefix", "ImplementationSpecific"):
                report.add(f"{at}.pathType", f"Unsupported value: {json.dumps(kind)}")
            if kind in ("Exact", "Prefix") and not str(entry.get("path", "")).startswith("/"):
                report.add(f"{at}.path", "Invalid value: must be an absolute path")
            _ingress_backend(entry.get("backend", {}), f"{at}.backend", report)
    for i, tls in enumerate(spec.get("tls", [])):
        for j, host in enumerate(tls.get("hosts", [])):
            _ingress_host(host, f"spec.tls[{i}].hosts[{j}]", report)


def _ingress_host(host: str, path: str, report: Report) -> None:
    """networking validateIngressRules: a (wildcard) DNS-1123 subdomain, never an IP."""
    try:
        ipaddress.ip_address(host)
        report.add(
            path, f"Invalid value: {json.dumps(host)}: must be a DNS name, not an IP address"
        )
        return
    except ValueError:
        pass
    report.each(path, is_dns1123_subdomain(host[2:] if host.startswith("*.") else host), host)


def _ingress_backend(backend: Obj, path: str, report: Report) -> None:
    """networking validateIngressBackend: one of service/resource; port name or number."""
    if ("service" in backend) == ("resource" in backend):
        report.add(path, "Invalid value: exactly one of `service` or `resource` must be specified")
    service = backend.get("service")
    if service is None:
        return
    report.each(
        f"{path}.service.name", is_dns1035_label(service.get("name", "")), service.get("name")
    )
    port = service.get("port", {})
    if ("name" in port) == ("number" in port):
        report.add(
            f"{path}.service.port",
            "Invalid value: exactly one of `name` or `number` must be specified",
        )
    elif "name" in port:
        report.each(f"{path}.service.port.name", is_port_name(port["name"]), port["name"])
    else:
        report.each(f"{path}.service.port.number", is_port_number(port["number"]), port["number"])


def _stored_size(kind: str, field: str, value: Any) -> int:
    """Bytes the API server counts for one value: base64 fields (a ConfigMap's binaryData, a
    Secret's data) by their decoded size, text by its UTF-8 size."""
    text = str(value)
    if field == "binaryData" or (kind == "Secret" and field == "data"):
        return len(text) * 3 // 4 - text[-2:].count("=")
    return len(text.encode())


def _data(obj: Obj, report: Report) -> None:
    """core ValidateConfigMap / ValidateSecret: valid keys, no key twice, total size <= 1 MiB."""
    seen: set[str] = set()
    size = 0
    for field in ("data", "binaryData", "stringData"):
        for key, value in (obj.get(field) or {}).items():
            report.each(f"{field}[{key}]", is_config_map_key(key), key)
            if key in seen and field != "stringData":
                report.add(
                    f"{field}[{key}]",
                    "Invalid value: duplicate of key present in another data field",
                )
            seen.add(key)
            size += _stored_size(obj["kind"], field, value)
    if size > MAX_DATA_SIZE:
        report.add("data", f"Too long: must have at most {MAX_DATA_SIZE} bytes")


KIND_RULES: dict[str, Callable[[Obj, Report], None]] = {
    "Deployment": _deployment,
    "Service": _service,
    "HorizontalPodAutoscaler": _hpa,
    "PodDisruptionBudget": _pdb,
    "NetworkPolicy": _network_policy,
    "Ingress": _ingress,
    "ConfigMap": _data,
    "Secret": _data,
}
"""Kind-specific rules; every kind also gets the object-metadata rules."""


def apiserver_problems(objs: Iterable[Obj]) -> list[str]:
    """Everything the API server would refuse in ``objs``: one ``<Kind>/<name> <field>:
    <message>`` line per problem (empty = the API server accepts every object)."""
    problems: list[str] = []
    for obj in objs:
        report = Report(f"{obj.get('kind')}/{obj.get('metadata', {}).get('name', '?')}")
        _metadata(obj, report)
        rules = KIND_RULES.get(obj.get("kind", ""))
        if rules is not None:
            rules(obj, report)
        problems += report.problems
    return problems
