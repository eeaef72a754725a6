"""The probe: two scratch tenants, the served schema walked as A with B's ids, both purged."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from asgi_lifespan import LifespanManager
from graphql import GraphQLSchema, is_non_null_type

from tenantflow.global_ids import parse_global_id
from tenantflow.isolation.findings import Finding
from tenantflow.isolation.probe import scratch, walk
from tenantflow.isolation.probe.client import Api, Body
from tenantflow.isolation.probe.compare import differs, mentions, random_id_like
from tenantflow.isolation.probe.documents import document
from tenantflow.isolation.probe.scratch import ScratchTenant
from tenantflow.settings import Settings

FIX = (
    "the field reached another tenant's rows: make its resolver read through the tenant-scoped"
    " session (TenantDb) and the ids helpers of schema/ids.py, and run the lint for the table's RLS"
)
IDS_PER_TYPE = 2
RUN = "mutation($input: RunWorkflowInput!) { runWorkflow(input: $input) { __typename } }"


@dataclass
class Tally:
    requests: int = 0
    slots: int = 0
    findings: list[Finding] = field(default_factory=list)


class Probe:
    """Drives one application as `viewer` against `other`'s ids."""

    def __init__(self, api: Api, schema: GraphQLSchema) -> None:
        self.api = api
        self.schema = schema
        self.tally = Tally()

    async def post(self, query: str, variables: dict[str, Any], token: str) -> Body:
        self.tally.requests += 1
        status, body = await self.api.post(query, variables, token=token)
        return {"status": status, **body}

    async def harvest(self, tenant: ScratchTenant) -> list[Body]:
        """Every query field that needs no argument, ids selected deep; ids kept by type."""
        answers: list[Body] = []
        for root in walk.root_fields(self.schema):
            if root.kind != "query" or _required(root):
                continue
            for depth in (4, 3, 2):  # a selection over the query limits is tried shallower
                body = await self.post(
                    document(root, self.schema, depth=depth, lists=True), {}, tenant.token
                )
                if "QUERY_TOO_COMPLEX" not in str(body.get("errors")):
                    break
            answers.append(body)
            _collect(body.get("data"), tenant.ids)
        return answers

    async def lists(self, viewer: ScratchTenant, other: ScratchTenant) -> None:
        """Nothing the viewer can list names the other tenant."""
        needles = [other.marker, *_all(other.ids)]
        for answer in await self.harvest(viewer):
            seen = mentions(answer, needles)
            if seen:
                self.tally.findings.append(
                    Finding("probe", "query lists", f"tenant {viewer.label} sees {seen[:5]}", FIX)
                )

    async def slots(
        self, viewer: ScratchTenant, candidates: dict[str, list[str]], kinds: Iterable[str]
    ) -> None:
        """Each id slot of each root field of `kinds`, filled with each candidate in turn and
        compared with a missing id of the candidate's type (the slot's, for a malformed one)."""
        wanted = set(kinds) - {"subscription"}
        for root, slot in walk.walked(self.schema, ("ID",)):
            if root.kind not in wanted:
                continue
            self.tally.slots += 1
            base = walk.required_arguments(root, viewer.marker)
            query = document(root, self.schema)
            baselines: dict[str, tuple[str, Body]] = {}  # a missing id's answer, by type
            for label, value in _choices(candidates):
                kind = _type_of(value) or slot.type_hint or "Node"
                if kind not in baselines:
                    missing = random_id_like(value, kind)
                    variables = walk.with_value(base, slot, missing)
                    baselines[kind] = (missing, await self.post(query, variables, viewer.token))
                missing, baseline = baselines[kind]
                answer = await self.post(query, walk.with_value(base, slot, value), viewer.token)
                difference = differs(answer, value, baseline, missing)
                if difference:
                    self.tally.findings.append(
                        Finding("probe", f"{root.title}({slot.label()}: {label})", difference, FIX)
                    )

    async def subscriptions(self, viewer: ScratchTenant, other: ScratchTenant) -> None:
        """Each subscription as the viewer while the other tenant runs a workflow: with each of
        the other's ids in each id slot (against a missing id), and with no arguments at all."""

        async def other_runs() -> None:
            await self.post(RUN, {"input": {"workflowId": other.workflow_id}}, other.token)

        roots = [r for r in walk.root_fields(self.schema) if r.kind == "subscription"]
        for root in roots:
            query = document(root, self.schema)
            if not _required(root):
                messages = await self._stream(query, {}, viewer, other_runs)
                seen = mentions(messages, [other.marker, *_all(other.ids)])
                if seen:
                    self.tally.findings.append(
                        Finding("probe", root.title, f"delivers {seen[:5]} of the other", FIX)
                    )
            for slot in walk.slots(root, self.schema, ("ID",)):
                self.tally.slots += 1
                base = walk.required_arguments(root, viewer.marker)
                hinted = (
                    {slot.type_hint: other.ids.get(slot.type_hint, set())}
                    if slot.type_hint
                    else other.ids
                )
                for label, value in _choices(_listed(hinted)):
                    missing = random_id_like(value)
                    answer = await self._stream(
                        query, walk.with_value(base, slot, value), viewer, other_runs
                    )
                    baseline = await self._stream(
                        query, walk.with_value(base, slot, missing), viewer, other_runs
                    )
                    difference = differs(answer, value, baseline, missing)
                    if difference:
                        self.tally.findings.append(
                            Finding(
                                "probe", f"{root.title}({slot.label()}: {label})", difference, FIX
                            )
                        )

    async def _stream(
        self,
        query: str,
        variables: dict[str, Any],
        viewer: ScratchTenant,
        meanwhile: Callable[[], Any],
    ) -> list[Body]:
        self.tally.requests += 1
        return await self.api.stream(
            query, variables, token=viewer.token, meanwhile=meanwhile, window=0.5
        )


def _required(root: walk.RootField) -> bool:
    return any(is_non_null_type(argument.type) for argument in root.field.args.values())


def _collect(data: Any, ids: dict[str, set[str]]) -> None:
    if isinstance(data, dict):
        kind, value = data.get("__typename"), data.get("id")
        if isinstance(kind, str) and isinstance(value, str):
            ids.setdefault(kind, set()).add(value)
        for inner in data.values():
            _collect(inner, ids)
    elif isinstance(data, list):
        for inner in data:
            _collect(inner, ids)


def _all(ids: dict[str, set[str]]) -> list[str]:
    return sorted(value for values in ids.values() for value in values)


def _listed(ids: dict[str, set[str]]) -> dict[str, list[str]]:
    return {kind: sorted(values)[:IDS_PER_TYPE] for kind, values in sorted(ids.items())}


def _choices(candidates: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(label, id) of every candidate: every one goes into every slot, since a lookup of the
    wrong type must hold as well as one of the right type."""
    return [(f"{kind} {value}", value) for kind, values in candidates.items() for value in values]


def _type_of(value: str) -> str | None:
    parsed = parse_global_id(value)
    return parsed[0] if parsed else None


async def probe(settings: Settings, *, report: Callable[[str], object] = print) -> list[Finding]:
    """Serve the application in-process on `settings` and probe it; the findings."""
    from tenantflow.app import build_app
    from tenantflow.schema import schema

    # No budgets (the probe sends hundreds of requests as one tenant) and no executor of its own.
    served = settings.model_copy(update={"rate_limits": "off", "executor_workers": 0})
    async with LifespanManager(build_app(served)) as manager:
        api = Api(manager.app)
        prober = Probe(api, schema._schema)
        tenants: list[ScratchTenant] = []
        try:
            a = await scratch.sign_up(api, "a")
            tenants.append(a)
            b = await scratch.sign_up(api, "b")
            tenants.append(b)
            for tenant in tenants:
                for note in await scratch.seed(api, tenant):
                    report(f"probe: {note}")
            await prober.harvest(b)
            report(
                f"probe: scratch tenants {a.marker} and {b.marker}; the other's ids by type: "
                + ", ".join(f"{k} {len(v)}" for k, v in sorted(b.ids.items()))
            )
            await prober.lists(a, b)
            await prober.slots(a, _listed(b.ids), ("query", "mutation"))
            await prober.subscriptions(a, b)
        finally:
            for note in await scratch.remove(api, settings, tenants):
                report(f"probe: {note}")
            await api.aclose()
    tally = prober.tally
    report(
        f"probe: {len(walk.root_fields(schema._schema))} root fields, {tally.slots} id slots,"
        f" {tally.requests} operations: {len(tally.findings)} finding(s); scratch tenants purged"
    )
    return tally.findings
