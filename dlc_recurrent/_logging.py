"""The package's messages go through the ``dlc_recurrent`` logger, shown on standard output.

A notebook or script user sees what training and analysis say (INFO and up, the bare message)
without configuring anything. The logger does not propagate to the root logger: TensorFlow's absl
configures the root logger on its first message (``logging.basicConfig``), which would print every
message a second time, prefixed. To send the messages into your own logging setup instead::

    log = logging.getLogger("dlc_recurrent")
    log.handlers.clear(); log.propagate = True

and to quieten the package: ``logging.getLogger("dlc_recurrent").setLevel(logging.WARNING)``.
"""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "dlc_recurrent"
#: Set (to anything) to see TensorFlow's C++ start-up notices, which the package hides otherwise.
VERBOSE_VARIABLE = "DLC_RECURRENT_VERBOSE"


class _StandardOutput(logging.StreamHandler):
    """A handler writing to whatever ``sys.stdout`` is when a message comes (notebooks and pytest's
    capture replace it)."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


def install_default_handler() -> None:
    """Show the package's messages on standard output (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    if any(isinstance(handler, _StandardOutput) for handler in logger.handlers):
        return
    handler = _StandardOutput()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
