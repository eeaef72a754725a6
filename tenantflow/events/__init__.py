"""Execution events for subscribers: the table is the source of truth, the broker only wakes.

A subscriber reads the events it has not seen from `execution_events` (positions in commit order);
the broker tells it when to look again. In one process the wake-up is immediate; events written by
other processes are found by a short poll (a cross-process broker can replace the poll later).
"""
