"""The users' CI cannot hand production to unreviewed code.

Read from the workflow files themselves (PyYAML), as GitHub reads them:
- every action is pinned by a full commit SHA (a tag can be moved to other code after review);
- a job that runs on a pull request and could reach prod (an OIDC token, a Pulumi or cloud secret) is bound to an
  environment that docs/CI.md lists as requiring reviewers, so the branch's code gets nothing before a person
  approves it;
- a `pull_request_target` workflow (base-branch permissions and secrets) never checks out the pull request's head.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_DIR = ROOT / ".github" / "workflows"
CI_DOC = ROOT / "docs" / "CI.md"

PULL_REQUEST_EVENTS = frozenset({"pull_request", "pull_request_target"})
PINNED = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
# A secret that stands for a Pulumi Cloud or cloud credential, by its name.
CREDENTIAL_SECRET = re.compile(r"secrets\.\w*(PULUMI|AWS|GCP|GOOGLE|GCLOUD|AZURE|ARM_|KUBE)\w*", re.IGNORECASE)
HEAD_REF = re.compile(r"pull_request\.head|github\.head_ref|refs/pull/", re.IGNORECASE)

Workflow = Mapping[str, Any]


def load(path: Path) -> Workflow:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), f"{path.name}: not a workflow mapping"
    return loaded


def triggers(workflow: Workflow) -> set[str]:
    """The events a workflow runs on (YAML 1.1 reads the bare key `on` as True)."""
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on}
    return set(on or ())


def steps(workflow: Workflow) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for job_id, job in (workflow.get("jobs") or {}).items():
        for step in job.get("steps") or ():
            yield job_id, step


def unpinned_actions(workflow: Workflow) -> list[str]:
    """`uses:` of steps and of reusable-workflow jobs not pinned to a 40-hex commit (local actions excepted)."""
    refs = [step["uses"] for _, step in steps(workflow) if "uses" in step]
    refs += [job["uses"] for job in (workflow.get("jobs") or {}).values() if "uses" in job]
    return [ref for ref in refs if not ref.startswith("./") and not PINNED.match(ref)]


def _writes_id_token(permissions: object) -> bool:
    if permissions == "write-all":
        return True
    return isinstance(permissions, dict) and permissions.get("id-token") == "write"


def reaches_prod(workflow: Workflow, job: Mapping[str, Any]) -> bool:
    """An OIDC token (the key to Pulumi Cloud and the clouds) or a Pulumi/cloud secret in the job's hands."""
    permissions = job.get("permissions", workflow.get("permissions"))
    return (
        _writes_id_token(permissions)
        or job.get("secrets") == "inherit"
        or bool(CREDENTIAL_SECRET.search(yaml.safe_dump(dict(job))))
    )


def environment_name(job: Mapping[str, Any]) -> str | None:
    env = job.get("environment")
    name = env.get("name") if isinstance(env, dict) else env
    return str(name) if name else None


def unreviewed_prod_jobs(workflow: Workflow, reviewed: set[str]) -> list[str]:
    """Jobs that run on a pull request, can reach prod, and are not gated by a reviewed environment."""
    if not triggers(workflow) & PULL_REQUEST_EVENTS:
        return []
    return [
        job_id
        for job_id, job in (workflow.get("jobs") or {}).items()
        if reaches_prod(workflow, job) and environment_name(job) not in reviewed
    ]


def head_checkouts(workflow: Workflow) -> list[str]:
    """Checkouts of the pull request's head in a pull_request_target workflow (its code with base privileges)."""
    if "pull_request_target" not in triggers(workflow):
        return []
    return [
        job_id
        for job_id, step in steps(workflow)
        if str(step.get("uses", "")).startswith("actions/checkout@")
        and HEAD_REF.search(str((step.get("with") or {}).get("ref", "")))
    ]


def reviewed_environments(ci_doc: str) -> set[str]:
    """Environments docs/CI.md's "Environments" table marks as requiring reviewers ("yes" in that column)."""
    section = ci_doc.split("\n## Environments", 1)[1].split("\n## ", 1)[0]
    reviewed = set()
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`") and cells[1].lower().startswith("yes"):
            reviewed.add(cells[0].strip("`"))
    return reviewed


WORKFLOWS = sorted(WORKFLOW_DIR.glob("*.yml"))
REVIEWED = reviewed_environments(CI_DOC.read_text())


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit(path: Path) -> None:
    assert unpinned_actions(load(path)) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_pull_request_job_reaches_prod_unreviewed(path: Path) -> None:
    assert unreviewed_prod_jobs(load(path), REVIEWED) == []


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_pull_request_target_never_checks_out_the_head(path: Path) -> None:
    assert head_checkouts(load(path)) == []


def test_the_pull_request_workflow_only_reads_the_repository() -> None:
    """The offline checks run the branch's code: contents: read, no OIDC token, no environment, no secret."""
    workflow = load(WORKFLOW_DIR / "pull-request.yml")
    assert workflow["permissions"] == {"contents": "read"}
    for job_id, job in workflow["jobs"].items():
        assert job.get("permissions", workflow["permissions"]) == {"contents": "read"}, job_id
        assert "environment" not in job, job_id
        assert "secrets." not in yaml.safe_dump(job), job_id


def test_the_prod_preview_waits_for_reviewers() -> None:
    """The one pull-request job with an OIDC token is bound to an environment the docs say needs reviewers."""
    workflow = load(WORKFLOW_DIR / "preview-prod.yml")
    assert "pull_request_target" not in triggers(workflow)
    gated = {job_id: environment_name(job) for job_id, job in workflow["jobs"].items() if reaches_prod(workflow, job)}
    assert gated == {"preview": "prod-preview"}
    assert {"prod-preview", "production"} <= REVIEWED


def test_every_environment_a_workflow_uses_is_documented() -> None:
    used = {environment_name(job) for path in WORKFLOWS for job in load(path)["jobs"].values()} - {None}
    assert used <= REVIEWED


# Worked examples: the checks above catch what they are meant to catch.
_CHECKOUT_TAG = {"uses": "actions/checkout@v4"}
_CHECKOUT_SHA = {"uses": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1"}


def _workflow(on: object, job: Mapping[str, Any]) -> dict[str, Any]:
    return {True: on, "jobs": {"j": dict(job)}}


def test_a_tag_or_branch_is_not_a_pin() -> None:
    wf = _workflow("push", {"steps": [_CHECKOUT_TAG, _CHECKOUT_SHA, {"uses": "./.github/actions/local"}]})
    assert unpinned_actions(wf) == ["actions/checkout@v4"]
    assert unpinned_actions({"jobs": {"j": {"uses": "org/repo/.github/workflows/x.yml@main"}}}) == [
        "org/repo/.github/workflows/x.yml@main"
    ]
    assert unpinned_actions(_workflow("push", {"steps": [{"uses": "actions/checkout@3d3c42e"}]})) == [
        "actions/checkout@3d3c42e"
    ]


@pytest.mark.parametrize(
    "job",
    [
        {"permissions": {"contents": "read", "id-token": "write"}},
        {"permissions": "write-all"},
        {"steps": [{"run": "pulumi preview", "env": {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}}]},
        {"steps": [{"with": {"creds": "${{ secrets.AZURE_CREDENTIALS }}"}}]},
        {
            "uses": "org/repo/.github/workflows/deploy.yml@3d3c42e5aac5ba805825da76410c181273ba90b1",
            "secrets": "inherit",
        },
        {"environment": "staging", "permissions": {"id-token": "write"}},
        {"environment": "${{ inputs.env }}", "permissions": {"id-token": "write"}},
    ],
)
def test_a_pull_request_job_with_prod_access_and_no_reviewed_environment_is_refused(job: dict[str, Any]) -> None:
    for on in ("pull_request", ["pull_request_target"], {"pull_request": {"branches": ["main"]}}):
        assert unreviewed_prod_jobs(_workflow(on, job), {"prod-preview"}) == ["j"]
    assert unreviewed_prod_jobs(_workflow("push", job), {"prod-preview"}) == []


def test_a_reviewed_environment_or_a_read_only_job_passes() -> None:
    gated = {"environment": {"name": "prod-preview"}, "permissions": {"id-token": "write"}}
    read_only = {"permissions": {"contents": "read"}, "steps": [{"run": "make test"}]}
    for job in (gated, read_only):
        assert unreviewed_prod_jobs(_workflow("pull_request", job), {"prod-preview"}) == []
    # A workflow-level id-token grant reaches every job that does not set its own permissions.
    inherited = {"permissions": {"id-token": "write"}, True: "pull_request", "jobs": {"j": {"steps": []}}}
    assert unreviewed_prod_jobs(inherited, {"prod-preview"}) == ["j"]


@pytest.mark.parametrize(
    "ref",
    [
        "${{ github.event.pull_request.head.sha }}",
        "${{ github.head_ref }}",
        "refs/pull/${{ github.event.number }}/merge",
    ],
)
def test_pull_request_target_checking_out_the_head_is_refused(ref: str) -> None:
    checkout = {**_CHECKOUT_SHA, "with": {"ref": ref}}
    assert head_checkouts(_workflow("pull_request_target", {"steps": [checkout]})) == ["j"]
    assert head_checkouts(_workflow("pull_request", {"steps": [checkout]})) == []
    base = {**_CHECKOUT_SHA, "with": {"ref": "${{ github.event.pull_request.base.sha }}"}}
    assert head_checkouts(_workflow("pull_request_target", {"steps": [base]})) == []


def test_the_docs_table_is_what_marks_an_environment_reviewed() -> None:
    doc = (
        "# CI\n\n## Environments\n\n| Environment | Required reviewers | Branches |\n|---|---|---|\n"
        "| `prod-preview` | yes: the platform team | any |\n| `scratch` | no | any |\n\n## Next\n| `x` | yes |\n"
    )
    assert reviewed_environments(doc) == {"prod-preview"}
