"""Execution events for subscribers: the table is the source of truth, wake-ups say where to look.

record.py writes an event row in the transaction of its change and, through commit_hook.py,
announces it: to the other processes with the commit (pg_notify.py) or after it (redis_pubsub.py,
through broker.py's sender; the transport is chosen in wiring.py), and in this process after the
commit (broker.py fans it out); feeds.py reads each tenant's new events once per wake-up for all of
this process's subscribers of the tenant; stream.py hands a subscriber over from its own replay to
the feed. The executor's doorbell rides the same wake-ups.
"""
