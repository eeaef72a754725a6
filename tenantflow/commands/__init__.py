"""`tenantflow` subcommands, one module per concern; each adds its parsers in `register`."""


class CommandError(Exception):
    """A command cannot run as asked; the message says why, without a traceback."""
