"""`tenantflow seed-demo`: demo tenants with a history, for trying the API, GraphiQL and the app.

Running it again changes nothing: accounts, workflows, deployments and the provider key are found
by name and left as they are, settings and modules are already as asked, and runs are made only
for workflows this run created.
"""

from __future__ import annotations

from urllib.parse import quote

from tenantflow.db.engine import create_engine
from tenantflow.db.session import SessionFactory
from tenantflow.demo.accounts import ensure_accounts
from tenantflow.demo.content import DEMO_PASSWORD, DEMO_QUERY, DEMO_TENANTS
from tenantflow.demo.history import add_deployments, add_workflows, configure
from tenantflow.demo.runs import PlannedRun, make_runs
from tenantflow.executor.step_context import NodeServices
from tenantflow.settings import Settings

__all__ = ["instructions", "seed"]

GRAPHIQL_URL = "http://127.0.0.1:8000/graphql"


async def seed(settings: Settings) -> list[str]:
    """Seed the database of `settings`; the lines to print (logins and how to try them)."""
    engine = create_engine(settings.database_url)
    sessions = SessionFactory(engine)
    nodes = NodeServices.from_settings(settings)
    lines: list[str] = []
    runs: list[PlannedRun] = []
    try:
        for demo in DEMO_TENANTS:
            accounts = await ensure_accounts(sessions, demo)
            admin = accounts.actors[demo.members[0][0]]
            key_id = await configure(sessions, nodes.keyring, demo, admin)
            new_workflows = await add_workflows(sessions, demo, admin, key_id)
            await add_deployments(sessions, demo, admin)
            runs += [
                PlannedRun(accounts.actors[run.by], workflow.id, run)
                for workflow in new_workflows
                for run in workflow.demo.runs
            ]
            made = "created" if accounts.created else "already there"
            added = f", {len(new_workflows)} workflow(s) added" if new_workflows else ""
            lines.append(f"tenant {demo.slug}: {made}{added}")
            lines += [
                f"  {role.value:<6} {email}  password: {DEMO_PASSWORD}"
                for email, _, role in demo.members
            ]
        await make_runs(sessions, nodes, runs)
    finally:
        await engine.dispose()
    return lines + instructions()


def instructions() -> list[str]:
    email = DEMO_TENANTS[0].members[0][0]
    log_in = (
        f'mutation {{ logIn(input: {{email: "{email}", password: "{DEMO_PASSWORD}",'
        f' tenantSlug: "{DEMO_TENANTS[0].slug}"}}) {{ ... on AuthPayload {{ accessToken }} }} }}'
    )
    return [
        "",
        f"Try it: `python main.py`, open {GRAPHIQL_URL} and run",
        f"  {log_in}",
        'then put {"Authorization": "Bearer <accessToken>"} in the Headers tab and run:',
        *(f"  {line}" for line in DEMO_QUERY.splitlines()),
        "or open that query straight in GraphiQL:",
        f"  {GRAPHIQL_URL}?query={quote(DEMO_QUERY, safe='')}",
        "The QUEUED and RUNNING executions go on once the server's executor starts:",
        "  subscription { executionEvents { status step { nodeId status } execution { id } } }",
    ]
