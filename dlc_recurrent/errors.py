"""The package's one exception family: a problem with the user's files, said in one line with its fix."""

from __future__ import annotations


class ProjectError(ValueError):
    """A problem with the user's DLC project files, described in one line with its fix."""


class DiskFull(ProjectError):
    """The disk (or quota) cannot hold what a call writes; every later write there would fail too."""
