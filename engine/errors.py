"""One error hierarchy for VIGOR; the CLI maps each class to a one-line message and an exit code.

Exit codes: 2 when the input is wrong (a command line, a config, a dataset, a run directory: fix it
and run again), 1 when something failed while running (the LLM, the sandbox, the local model, an
external harness), 130 when interrupted.
"""

from __future__ import annotations


class VigorError(Exception):
    """Root of every error VIGOR raises on purpose."""

    exit_code = 1


class ConfigError(VigorError):
    """A configuration value is missing, unknown or of the wrong type; the message names the key path."""

    exit_code = 2


class DatasetError(VigorError):
    """A dataset cannot be found or read."""

    exit_code = 2


class LLMError(VigorError):
    """The LLM could not be reached or answered something unusable."""


class SandboxError(VigorError):
    """The sandbox worker failed (not the code it ran: that is a normal result)."""


class HarnessError(VigorError):
    """An official harness run by `vigor evaluate --mode external` failed."""


class ModelError(VigorError):
    """The bundled local model cannot be prepared or started."""
