# SPDX-License-Identifier: MIT
"""Errors the pipeline reports to the user, each with a message that says what
failed and what to look at."""


class PipelineError(Exception):
    """A stage failed; ``str(exc)`` is the message shown to the user."""

    exit_code = 1


class SetupError(PipelineError):
    """A host dependency is missing or unusable."""

    exit_code = 2


class PatchError(PipelineError):
    """A patch of the series does not apply."""

    def __init__(self, patch: str, detail: str, hunk: str = "") -> None:
        self.patch = patch
        self.hunk = hunk
        self.detail = detail
        where = f" at {hunk}" if hunk else ""
        super().__init__(f"{patch} does not apply{where}\n{detail}".rstrip())


class ConfigError(PipelineError):
    """An option of a config fragment did not survive olddefconfig."""


class BuildError(PipelineError):
    """make failed; the message carries the tail of the build log."""


class SettingsError(PipelineError):
    """A setting (option or make variable) is not valid; the message lists
    the allowed values.  Raised before any work starts."""

    exit_code = 2


class ResultsBusy(PipelineError):
    """Another run holds the results directory (vm/resultsdir.py)."""

    exit_code = 3
