"""VIGOR's engine: the public face that front ends (the CLI, the editor server, your own code) use.

    from engine import generate, parse_config
    result = generate(task, parse_config({"coder": {"kind": "reference"}}))

Names are imported on first use, so `import engine` stays cheap (the sandbox worker imports this
package before every job's module).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "generate": "engine.api",
    "agenerate": "engine.api",
    "Runtime": "engine.api",
    "Result": "engine.loop.records",
    "StepInfo": "engine.loop.records",
    "StepRecord": "engine.loop.records",
    "Task": "engine.types",
    "Example": "engine.types",
    "VigorConfig": "engine.config",
    "parse_config": "engine.config",
    "load_config": "engine.config",
    "set_dotted": "engine.config",
    "VigorError": "engine.errors",
    "ConfigError": "engine.errors",
    "extract_examples": "engine.examples",
    "visible_tests_from_examples": "engine.datasets.humaneval",
    "JsonlTrace": "engine.trace",
    "read_trace": "engine.trace",
    "write_task_html": "engine.runs.trace_html",
    "local_available": "engine.llm.local_model",
}

__all__ = [
    "ConfigError",
    "Example",
    "JsonlTrace",
    "Result",
    "Runtime",
    "StepInfo",
    "StepRecord",
    "Task",
    "VigorConfig",
    "VigorError",
    "agenerate",
    "extract_examples",
    "generate",
    "load_config",
    "local_available",
    "parse_config",
    "read_trace",
    "set_dotted",
    "visible_tests_from_examples",
    "write_task_html",
]

if TYPE_CHECKING:
    from engine.api import Runtime, agenerate, generate
    from engine.config import VigorConfig, load_config, parse_config, set_dotted
    from engine.datasets.humaneval import visible_tests_from_examples
    from engine.errors import ConfigError, VigorError
    from engine.examples import extract_examples
    from engine.llm.local_model import local_available
    from engine.loop.records import Result, StepInfo, StepRecord
    from engine.runs.trace_html import write_task_html
    from engine.trace import JsonlTrace, read_trace
    from engine.types import Example, Task


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
