"""A shim for tools that still look for setup.py; the metadata lives in pyproject.toml."""

from setuptools import setup

setup()
