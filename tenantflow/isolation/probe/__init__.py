"""`check-isolation --probe`: the served schema driven as one scratch tenant with another's ids.

`walk.py` reads every root field's arguments from the schema itself (so a field added later is
walked too), `documents.py` writes the operations, `scratch.py` makes and purges the two tenants
through the API's own paths, `compare.py` tells a leak from a missing id, `run.py` puts it together.
"""
