"""The package's one exception family: a problem with the user's files, said in one line with its fix."""

from __future__ import annotations


class ProjectError(ValueError):
    """A problem with the user's DLC project files, described in one line with its fix.

    Args:
        *args: as ValueError takes them: the message, which names the file, the problem and its fix.
    """


class DiskFull(ProjectError):
    """The disk (or quota) cannot hold what a call writes; every later write there would fail too.

    Args:
        *args: as ValueError takes them: the message, which names the folder, what needs the space and how
            much is free.
    """
