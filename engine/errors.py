"""One error hierarchy for VIGOR; the CLI maps each class to a one-line message and an exit code."""

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


class ModelError(VigorError):
    """The bundled local model cannot be prepared or started."""
