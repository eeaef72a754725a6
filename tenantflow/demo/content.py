"""What `tenantflow seed-demo` makes: two tenants, their members, and the history they leave."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tenantflow.enums import DeploymentStatus, Environment, ExecutionStatus, Plan, Role
from tenantflow.enums import WorkflowStatus as W

DEMO_PASSWORD = "demo-password-1"  # noqa: S105  (printed for trying the demo)
DEMO_PROVIDER_SECRET_PREFIX = "sk-demo-"  # noqa: S105  (a made-up key; only its mask is shown)

Definition = dict[str, Any]
S = ExecutionStatus
D = DeploymentStatus


@dataclass(frozen=True)
class DemoRun:
    """One execution, and the status the seed leaves it in: SUCCEEDED and FAILED come from
    running it; CANCELLED is cancelled while a delay runs; RUNNING is handed back by the seed's
    executor in a delay (the server's executor resumes it); QUEUED is left for the server."""

    status: ExecutionStatus
    by: str  # email of the member who runs it
    input: dict[str, Any] | None = None


@dataclass(frozen=True)
class DemoWorkflow:
    name: str
    description: str
    status: W
    # Built with the global id of the tenant's demo provider key (None when it has none).
    definition: Callable[[str | None], Definition]
    runs: tuple[DemoRun, ...] = ()


@dataclass(frozen=True)
class DemoDeployment:
    workflow: str
    name: str
    environment: Environment
    # The statuses it moves through after PENDING, in order (the contract's machine).
    moves: tuple[DeploymentStatus, ...]
    url: str | None = None


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    plan: Plan
    members: tuple[tuple[str, str, Role], ...]  # (email, name, role); the first sets things up
    settings: dict[str, str] = field(default_factory=dict)
    modules: tuple[str, ...] = ()  # in the order they are enabled (dependencies first)
    provider_key: tuple[str, str] | None = None  # (provider, name)
    workflows: tuple[DemoWorkflow, ...] = ()
    deployments: tuple[DemoDeployment, ...] = ()


def noop(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "noop", "config": {}}


def delay(node_id: str, ms: int) -> dict[str, Any]:
    return {"id": node_id, "type": "delay", "config": {"ms": ms}}


def transform(node_id: str, **values: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "transform", "config": {"set": values}}


def chain(*nodes: dict[str, Any]) -> Definition:
    edges = [{"from": a["id"], "to": b["id"]} for a, b in itertools.pairwise(nodes)]
    return {"nodes": list(nodes), "edges": edges}


def nightly_sync(_key: str | None) -> Definition:
    return chain(noop("start"), delay("wait", 200), transform("tag", synced=True))


def invoice_reminder(_key: str | None) -> Definition:
    return chain(
        transform("prepare", template="reminder-v2"),
        {"id": "send", "type": "fail", "config": {"message": "Customer has no email address"}},
    )


def quarterly_report(_key: str | None) -> Definition:
    return chain(
        noop("start"),
        delay("gather", 10_000),
        delay("render", 10_000),
        transform("publish", published=True),
    )


def lead_enrichment(key: str | None) -> Definition:
    call = {
        "id": "enrich",
        "type": "http",
        "config": {
            "method": "POST",
            "url": "https://api.example.com/v1/enrich",
            "body": {"source": "tenantflow-demo"},
            "timeoutMs": 5000,
            **({"providerKeyId": key} if key else {}),
        },
    }
    return chain(call, transform("store", enriched=True))


def empty(_key: str | None) -> Definition:
    return {"nodes": [], "edges": []}


def welcome_email(_key: str | None) -> Definition:
    return chain(noop("start"), transform("compose", subject="Welcome to Globex"))


ALICE, BOB = "alice@acme.test", "bob@acme.test"
CAROL = "carol@globex.test"

DEMO_TENANTS = (
    DemoTenant(
        slug="acme",
        name="Acme Corp",
        plan=Plan.PRO,
        members=(
            (ALICE, "Alice Owner", Role.OWNER),
            (BOB, "Bob Editor", Role.EDITOR),
            ("vera@acme.test", "Vera Viewer", Role.VIEWER),
        ),
        settings={"companyEmail": "billing@acme.test", "address": "1 Demo Street, Springfield"},
        modules=("analytics", "reporting", "billing", "invoicing"),
        provider_key=("openai", "OpenAI (demo)"),
        workflows=(
            DemoWorkflow(
                "Nightly sync",
                "Copies the day's orders to the warehouse",
                W.ACTIVE,
                nightly_sync,
                runs=(
                    DemoRun(S.SUCCEEDED, ALICE, {"day": "2026-11-30"}),
                    DemoRun(S.SUCCEEDED, BOB, {"day": "2026-12-01"}),
                ),
            ),
            DemoWorkflow(
                "Invoice reminder",
                "Reminds customers of unpaid invoices",
                W.ACTIVE,
                invoice_reminder,
                runs=(DemoRun(S.FAILED, BOB, {"invoice": "INV-1042"}),),
            ),
            DemoWorkflow(
                "Quarterly report",
                "Gathers, renders and publishes the quarter's figures (slow on purpose)",
                W.ACTIVE,
                quarterly_report,
                runs=(
                    DemoRun(S.CANCELLED, ALICE, {"quarter": "Q3"}),
                    DemoRun(S.RUNNING, ALICE, {"quarter": "Q4"}),
                    DemoRun(S.QUEUED, BOB, {"quarter": "Q4", "draft": True}),
                ),
            ),
            DemoWorkflow(
                "Lead enrichment",
                "Calls an enrichment API with the tenant's provider key (a draft: not run)",
                W.DRAFT,
                lead_enrichment,
            ),
            DemoWorkflow("Customer onboarding", "Not built yet", W.DRAFT, empty),
            DemoWorkflow("Legacy export", "Replaced by Nightly sync", W.ARCHIVED, nightly_sync),
        ),
        deployments=(
            DemoDeployment(
                "Nightly sync",
                "nightly-sync",
                Environment.PRODUCTION,
                (D.DEPLOYING, D.LIVE),
                "https://hooks.acme.test/nightly-sync",
            ),
            DemoDeployment(
                "Nightly sync",
                "nightly-sync-staging",
                Environment.STAGING,
                (D.DEPLOYING, D.LIVE, D.STOPPED),
            ),
            DemoDeployment(
                "Invoice reminder", "reminders", Environment.PRODUCTION, (D.DEPLOYING, D.FAILED)
            ),
            DemoDeployment("Quarterly report", "reports", Environment.STAGING, (D.DEPLOYING,)),
            DemoDeployment("Quarterly report", "reports-next", Environment.DEVELOPMENT, ()),
        ),
    ),
    DemoTenant(
        slug="globex",
        name="Globex",
        plan=Plan.FREE,
        members=((CAROL, "Carol Owner", Role.OWNER), (ALICE, "Alice Owner", Role.ADMIN)),
        modules=("analytics",),
        workflows=(
            DemoWorkflow(
                "Welcome email",
                "Greets new customers",
                W.ACTIVE,
                welcome_email,
                runs=(DemoRun(S.SUCCEEDED, CAROL, {"customer": "Hank"}),),
            ),
        ),
        deployments=(
            DemoDeployment(
                "Welcome email",
                "welcome",
                Environment.PRODUCTION,
                (D.DEPLOYING, D.LIVE),
                "https://hooks.globex.test/welcome",
            ),
        ),
    ),
)

# One query to paste into GraphiQL once signed in: the dashboard's view of the demo.
DEMO_QUERY = """\
query Demo {
  viewer { role user { email } tenant { name plan } }
  workflows(first: 10) {
    totalCount
    edges { node { name status executions(first: 5) { edges { node { status error output
      steps { nodeId status } } } } } }
  }
  deployments(first: 10) { edges { node { name status environment url } } }
  modules { key enabled }
}"""
