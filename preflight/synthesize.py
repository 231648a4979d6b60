"""Run the real Pulumi program under the SDK's mock mode and return what it would register.

This mirrors how the Python language host runs a program for `pulumi preview`: fresh
runtime settings, the stack's config handed over as the engine hands it, the program run
inside a root Stack resource, then every outstanding registration awaited.
"""

from __future__ import annotations

import asyncio
import contextvars
import runpy
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import run_in_stack

from preflight.errors import InputError
from preflight.plan import Plan
from preflight.quiescence import fast_quiescence
from preflight.recorder import RecordingMonitor
from preflight.stack_files import StackFile

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKERS = 16  # the engine's default parallelism is far higher; registrations here are CPU-bound


class ProgramError(Exception):
    """The program failed for a reason other than bad config: a bug, reported as such."""


def synthesize(
    stack_file: StackFile,
    project_dir: Path = PROJECT_DIR,
    program: Callable[[], None] | None = None,
) -> Plan:
    """The plan of `pulumi preview` for this stack, computed offline.

    `program` defaults to the project's __main__.py; tests pass a function that builds a
    single component, and get the same recording.
    """
    monitor = RecordingMonitor()
    run_program(stack_file, monitor, project_dir, program)

    recording = monitor.recording
    resources = tuple(sorted(recording.registrations.values(), key=lambda r: r.urn))
    return Plan(
        project=stack_file.project,
        stack=stack_file.stack,
        resources=resources,
        outputs=recording.stack_outputs,
        masked_config=stack_file.masked,
    )


def run_program(
    stack_file: StackFile,
    monitor: pulumi_mocks.MockMonitor,
    project_dir: Path = PROJECT_DIR,
    program: Callable[[], None] | None = None,
) -> None:
    """Run a program to completion against `monitor`, in a context of its own."""
    main = project_dir / "__main__.py"

    def run_main() -> None:
        runpy.run_path(str(main), run_name="__main__")

    error = contextvars.copy_context().run(_run, monitor, stack_file, program or run_main, project_dir)
    if error is not None:
        raise error


def _run(
    monitor: pulumi_mocks.MockMonitor,
    stack_file: StackFile,
    program: Callable[[], None],
    project_dir: Path,
) -> Exception | None:
    settings = pulumi_mocks.MockSettings(
        monitor=monitor,
        monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
        engine=pulumi_mocks.MockEngine(None),
        project=stack_file.project,
        stack=stack_file.stack,
        dry_run=True,
        organization="organization",
        callbacks=None,
    )
    pulumi_settings.configure(settings)
    set_all_config(stack_file.config, list(stack_file.masked))

    loop = asyncio.new_event_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=WORKERS))
    sys.path.insert(0, str(project_dir))
    try:
        with fast_quiescence():
            loop.run_until_complete(run_in_stack(program))
        return None
    except pulumi.RunError as error:
        return InputError(str(error))
    except Exception as error:  # reported, with its type, as a program failure
        failure = ProgramError(f"{type(error).__name__}: {error}")
        failure.__cause__ = error
        return failure
    finally:
        sys.path.remove(str(project_dir))
        # After a failure, registrations may still be pending: cancel them and let them finish.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(_drain(pending))
        loop.close()


async def _drain(tasks: set[asyncio.Task[object]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)
