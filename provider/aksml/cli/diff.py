"""``aksml diff BASE HEAD``: a reviewable diff of two renders (PR-ready with --format markdown).

Each side is a render directory (YAML files of Kubernetes objects), a Pulumi program directory
or a git ref of the current repository (with ``--program``); programs are rendered with
``aksml render`` into a temporary directory first.
"""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from aksml.contract import EXIT_USAGE
from aksml.errors import WebserviceException

EXIT_NO_CHANGES = 0
EXIT_CHANGES = 1
PROGRAM_MARKERS = ("Pulumi.yaml", "Pulumi.yml", "__main__.py")


class OutputFormat(StrEnum):
    """``--format`` values."""

    text = "text"
    markdown = "markdown"


def _git(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120, check=False)


def is_program(directory: Path) -> bool:
    """A Pulumi program directory (as opposed to a render directory)."""
    return any((directory / marker).is_file() for marker in PROGRAM_MARKERS)


def git_commit(ref: str, repo: Path) -> str | None:
    """The commit ``ref`` names in the repository at ``repo``, or None."""
    done = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo)
    return done.stdout.decode().strip() if done.returncode == 0 else None


def extract_ref(commit: str, repo: Path, destination: Path) -> Path:
    """The tree of ``commit`` (``git archive``; the repository itself is not touched)."""
    done = _git("archive", "--format=tar", commit, cwd=repo)
    if done.returncode != 0:
        raise WebserviceException(f"git archive {commit} failed: {done.stderr.decode().strip()}")
    destination.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(destination, filter="data")
    return destination


def render_program(program: Path, output: Path, source_root: Path | None = None) -> Path:
    """Render a Pulumi program into ``output`` with ``aksml render`` (in a child process, so
    the program's imports and the mock engine stay out of this one). When ``source_root`` is a
    checkout of aksml itself, its own ``provider/`` code renders it."""
    if importlib.util.find_spec("aksml.cli.render") is None:
        raise WebserviceException(
            f"{program} is a program directory; rendering it needs `aksml render`, which this "
            "installation does not have. Pass render directories instead."
        )
    env = dict(os.environ)
    if source_root is not None and (source_root / "provider" / "aksml" / "__init__.py").is_file():
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(source_root / "provider"), env.get("PYTHONPATH")) if p
        )
    output.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from aksml.cli import main; main()",
            "render",
            str(program),
            "-o",
            str(output),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        text = [line.strip(" \t│╭╮╰╯─") for line in (done.stderr or done.stdout).splitlines()]
        lines = [line for line in text if line] or ["no output"]
        reason = lines[-1].removeprefix("error: ")
        raise WebserviceException(f"aksml render {program} failed: {reason}")
    return output


def resolve_side(spec: str, program: str, workdir: Path, side: str) -> Path:
    """A render directory for one side of the diff."""
    path = Path(spec)
    if path.is_dir():
        return render_program(path, workdir / side) if is_program(path) else path
    if path.exists():
        raise WebserviceException(
            f"{spec} is a file; give a render directory, a program directory or a git ref"
        )
    repo_done = _git("rev-parse", "--show-toplevel", cwd=Path.cwd())
    if repo_done.returncode != 0:
        raise WebserviceException(
            f"{spec} is not a directory, and the current directory is not a git repository"
        )
    repo = Path(repo_done.stdout.decode().strip())
    commit = git_commit(spec, repo)
    if commit is None:
        raise WebserviceException(f"{spec} is neither a directory nor a git ref of {repo}")
    tree = extract_ref(commit, repo, workdir / f"{side}-source")
    program_dir = tree / program
    if not program_dir.is_dir() or not is_program(program_dir):
        raise WebserviceException(f"{spec} has no program directory {program}")
    return render_program(program_dir, workdir / side, source_root=tree)


def diff_command(
    base: Annotated[str, typer.Argument(help="Render dir, program dir or git ref (before).")],
    head: Annotated[str, typer.Argument(help="Render dir, program dir or git ref (after).")],
    program: Annotated[
        str,
        typer.Option(
            "--program", help="For git refs: the program directory inside the repository."
        ),
    ] = "examples/quickstart",
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="text (colour on a terminal) or markdown.")
    ] = OutputFormat.text,
    context: Annotated[
        int, typer.Option("--context", "-U", min=0, help="Unified-diff context lines.")
    ] = 3,
) -> None:
    """Diff two renders object by object (matched by apiVersion, kind, namespace, name) and
    warn when a change replaces an object instead of updating it. Exit code 0: no changes,
    1: changes, 2: bad input."""
    from aksml.cli import fail
    from aksml.offline.diff import diff_objects, load_objects, markdown, text_lines

    with tempfile.TemporaryDirectory(prefix="aksml-diff-") as tmp:
        workdir = Path(tmp)
        try:
            # both sides render at once (each render is its own process)
            with ThreadPoolExecutor(max_workers=2) as pool:
                base_job = pool.submit(resolve_side, base, program, workdir, "base")
                head_job = pool.submit(resolve_side, head, program, workdir, "head")
                base_dir, head_dir = base_job.result(), head_job.result()
            result = diff_objects(load_objects(base_dir), load_objects(head_dir), context)
        except WebserviceException as exc:
            raise fail(exc.message) from None
    if output_format is OutputFormat.markdown:
        typer.echo(markdown(result, base, head), nl=False)
    elif sys.stdout.isatty():
        from rich.console import Console
        from rich.text import Text

        console = Console(highlight=False)
        for style, line in text_lines(result):
            console.print(Text(line, style=style), soft_wrap=True)
    else:
        for _, line in text_lines(result):
            typer.echo(line)
    raise typer.Exit(EXIT_CHANGES if result.has_changes else EXIT_NO_CHANGES)


def register(app: typer.Typer) -> None:
    """Add ``aksml diff``."""
    app.command(
        "diff",
        help="Diff two renders (dirs, programs or git refs); PR-ready with --format markdown.",
        epilog=(
            f"Exit codes: {EXIT_NO_CHANGES} no changes, {EXIT_CHANGES} changes, "
            f"{EXIT_USAGE} bad input."
        ),
    )(diff_command)
