"""The executor: worker tasks that claim queued executions under a lease and run them, node by
node, each change in a transaction of the execution's tenant."""

from tenantflow.executor.workers import Executor

__all__ = ["Executor"]
