"""What the command line shows of the idsync loggers: warnings and errors on stderr, one readable line each (``-v``
adds info, ``-vv`` debug), with the workspace's resolved secret values replaced.

Without it a connector's warning would reach Python's last-resort handler, unformatted, and quoting whatever the
connector put in it (a bind password in an exception's text). The handler is installed for one command and taken
away when it ends, so an embedding program's logging is as it was.
"""

from __future__ import annotations

import logging
import sys

import click

from idsync.model.redaction import SecretHidingHandler

LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)
"""By the number of ``-v``."""


def install(ctx: click.Context, verbose: int) -> SecretHidingHandler:
    """Route the ``idsync`` loggers to a stderr handler for the duration of ``ctx``; the workspace, once opened,
    tells it the secrets to hide (``CliState.open``)."""
    handler = SecretHidingHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("idsync")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers[:] = [handler]
    logger.setLevel(LEVELS[min(verbose, len(LEVELS) - 1)])
    logger.propagate = False  # a handler further up (an embedding program's) would write the lines unscrubbed

    def restore() -> None:
        handler.flush()
        logger.handlers[:], logger.level, logger.propagate = saved

    ctx.call_on_close(restore)
    return handler
