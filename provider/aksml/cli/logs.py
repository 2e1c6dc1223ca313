"""``aksml logs``: a deployed service's pod logs (v1's ``Webservice.get_logs()``)."""

from __future__ import annotations

from typing import Annotated

import typer

from aksml.client.logs import DEFAULT_TAIL_LINES


def logs_command(
    service: Annotated[str, typer.Argument(help="Service (or endpoint) name.")],
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace of the service.")
    ] = "default",
    version: Annotated[
        str | None, typer.Option("--version", help="An AksEndpoint version's pods.")
    ] = None,
    init: Annotated[
        bool, typer.Option("--init", help="Init containers (model fetch, pip install).")
    ] = False,
    previous: Annotated[
        bool, typer.Option("--previous", help="The previous (terminated) run of each container.")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Stream the newest pod's log as it is written.")
    ] = False,
    tail: Annotated[
        int, typer.Option("--tail", min=1, help="Last lines per container.")
    ] = DEFAULT_TAIL_LINES,
    kubeconfig: Annotated[
        str | None, typer.Option("--kubeconfig", help="Kubeconfig file (default: $KUBECONFIG).")
    ] = None,
    context: Annotated[str | None, typer.Option("--context", help="Kubeconfig context.")] = None,
) -> None:
    """Print the logs of a service's pods: the runtime container, or the init containers.

    A container in CrashLoopBackOff (e.g. an exception in init()) shows the logs of its crashed
    run, after a note with its last terminated state on stderr. No pods, an image that cannot
    be pulled, or a pod that cannot be scheduled is an error line naming the cause.
    """
    from aksml.cli import fail
    from aksml.client.logs import LogTarget, core_api, follow_logs, format_logs, read_logs
    from aksml.errors import WebserviceException

    if follow and previous:
        raise fail("--follow and --previous cannot be combined")
    target = LogTarget(service, namespace, version, init, previous, tail)
    try:
        api = core_api(kubeconfig, context)
        if follow:
            for chunk in follow_logs(api, target):
                typer.echo(chunk, nl=False)
            return
        found = read_logs(api, target)
    except WebserviceException as exc:
        raise fail(exc.message) from None
    for logs in found:
        for note in logs.notes:
            typer.echo(f"note: pod {logs.pod}: {note}", err=True)
    typer.echo(format_logs(found), nl=False)


def register(app: typer.Typer) -> None:
    """Add ``aksml logs``."""
    app.command("logs", help="Print a deployed service's pod logs (kubeconfig or in-cluster).")(
        logs_command
    )
