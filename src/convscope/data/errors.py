"""The exceptions ``convscope.data`` raises.

Every error names the file (or dataset) concerned, says what was expected and
what was found, and where it helps, how to fix it.

>>> issubclass(DatasetNotFoundError, DatasetError) and issubclass(DatasetError, ValueError)
True
"""

from __future__ import annotations


class DatasetError(ValueError):
    """A data file is corrupt, truncated, mismatched or otherwise unusable."""


class DatasetNotFoundError(DatasetError):
    """A dataset's files are not on this machine (and downloading was not allowed)."""


class DownloadError(DatasetError):
    """Every mirror failed: the message lists each URL tried and why it failed."""
