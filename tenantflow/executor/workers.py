"""The executor: worker tasks that claim queued executions and run them, in this process.

Each worker loops claim -> run -> repeat; when nothing is claimable it waits for the doorbell
(rung when a run is queued, in this process or, through the event wake-ups, in another) or for a
long safety timeout (work that no ring announces: a lease that lapsed). The claim is a
narrow path (a lease on the oldest claimable execution of any tenant, `FOR UPDATE SKIP LOCKED` on
PostgreSQL) run without a tenant; the run then continues in the claimed execution's tenant. Leases
make it safe with several processes: a lease is renewed while its execution runs, and one that
lapses (its process died) is claimed again, so the execution is resumed or failed elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket

from tenantflow.db.faults import is_unavailable
from tenantflow.db.narrow_paths import ClaimedExecution, claim_execution
from tenantflow.db.session import SessionFactory
from tenantflow.db.types import utcnow
from tenantflow.events.doorbell import Doorbell
from tenantflow.executor.lease import Interruption, Lease, heartbeat
from tenantflow.executor.runner import INTERNAL_ERROR, MAX_ATTEMPTS, ExecutionRun, fail_execution
from tenantflow.executor.step_context import NodeServices

log = logging.getLogger(__name__)

# An idle worker claims at least this often without a ring (a lapsed lease, a lost wake-up).
IDLE_SECONDS = 5.0
# A claim that failed (the database is unreachable, say) is retried after this long.
CLAIM_RETRY_SECONDS = 5.0
# After stop()'s grace, interrupted runs get this long to hand their executions back.
HAND_BACK_SECONDS = 5.0


def _process_id() -> str:
    """Unique per Executor: host, process and a random part (pids repeat across containers)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class Executor:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        nodes: NodeServices,
        workers: int,
        lease_seconds: int,
        idle_seconds: float | None = None,
        doorbell: Doorbell | None = None,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.sessions = sessions
        self.nodes = nodes
        self.workers = workers
        self.lease_seconds = lease_seconds
        self.idle_seconds = IDLE_SECONDS if idle_seconds is None else idle_seconds
        self.doorbell = doorbell or Doorbell()
        self.max_attempts = max_attempts
        self.id = _process_id()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._leases: dict[str, Lease] = {}  # by worker: the executions running now

    @property
    def busy(self) -> int:
        """How many executions this executor is running now."""
        return len(self._leases)

    async def start(self) -> None:
        for index in range(self.workers):
            worker = f"{self.id}:{index}"
            self._tasks.append(asyncio.create_task(self._work(worker), name=f"executor {worker}"))
        log.info("executor %s: %d workers started", self.id, self.workers)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Stop claiming; let runs finish their current node within `grace_seconds`, then
        interrupt them. Either way an unfinished execution is handed back for another process."""
        self._stopping.set()
        self.doorbell.wake_all()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace_seconds)
        if pending:
            for lease in list(self._leases.values()):
                lease.interrupt(Interruption.SHUTDOWN)
            _, pending = await asyncio.wait(pending, timeout=HAND_BACK_SECONDS)
        for task in pending:  # stuck (e.g. on the database): its lease will lapse
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        log.info("executor %s stopped", self.id)

    async def _work(self, worker: str) -> None:
        while not self._stopping.is_set():
            rung = self.doorbell.rung  # a ring during the claim means: claim again
            try:
                claim = await self._claim(worker)
            except Exception as error:
                if is_unavailable(error):  # an outage: one line, not a traceback per claim
                    log.warning("executor %s: database unavailable, claiming paused", worker)
                else:
                    log.exception("executor %s: claiming failed", worker)
                await self._pause(CLAIM_RETRY_SECONDS)
                continue
            if claim is None:
                if not self._stopping.is_set():
                    await self.doorbell.wait(rung, self.idle_seconds)
                continue
            await self._run(worker, claim)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, or less if the executor stops meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _claim(self, worker: str) -> ClaimedExecution | None:
        # Unscoped: the narrow path finds work in any tenant and returns only where it is.
        async with self.sessions.global_transaction() as session:
            return await claim_execution(
                session, worker=worker, lease_seconds=self.lease_seconds, now=utcnow()
            )

    async def _run(self, worker: str, claim: ClaimedExecution) -> None:
        lease = Lease(worker, claim.tenant_id, claim.execution_id, self.lease_seconds)
        self._leases[worker] = lease
        beat = asyncio.create_task(heartbeat(self.sessions, lease))
        try:
            run = ExecutionRun(
                self.sessions,
                lease,
                nodes=self.nodes,
                stopping=self._stopping.is_set,
                max_attempts=self.max_attempts,
            )
            await run.run()
        except Exception as error:
            if is_unavailable(error):
                # Not the execution's fault: its lease lapses and a later attempt resumes it.
                log.warning(
                    "execution %s: database unavailable, left for a later attempt",
                    claim.execution_id,
                )
                return
            # One execution's fault must not end the worker: fail it, keep the worker going.
            log.exception("execution %s: the executor failed on it", claim.execution_id)
            try:
                await fail_execution(self.sessions, lease, INTERNAL_ERROR)
            except Exception:  # its lease lapses and another attempt resumes or fails it
                log.exception("execution %s: could not be marked FAILED", claim.execution_id)
        finally:
            beat.cancel()
            await asyncio.gather(beat, return_exceptions=True)
            del self._leases[worker]
