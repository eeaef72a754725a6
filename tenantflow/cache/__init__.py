"""Caches of principals and query answers that no client can observe.

An entry is kept under the versions of everything a write could change it through: its tenant's
(any committed write in the tenant), its user's (the user's password and sessions) and the
deployment's epoch (a change to a row shared by tenants). A request reads the versions once,
before it reads any data (`versions.CacheVersions.read`); a writer replaces them after its commit
and before it answers (`invalidation`). So a client reads its own write at once, and with Redis
every later request of the tenant, in every process, misses the entries the write made obsolete.
Entries also expire (a TTL backstop, `TENANTFLOW_CACHE_TTL`), and a store that fails is a miss,
never an error.

- `store`: aiocache in this process (bounded) or in Redis, behind an interface that never raises.
- `versions`: the versions and their keys.
- `principals`: who a credential stands for, re-checked in the database when a version moved.
- `answers`: the schema extension that answers a repeated query from the cache.
- `invalidation`: what a committed transaction makes obsolete.
"""
