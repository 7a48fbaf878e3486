"""The pygls server: one LSP feature per function; the work lives in context, session, streaming, settings."""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from engine import ConfigError, JsonlTrace, Runtime, StepInfo, VigorConfig, read_trace, write_task_html

from . import __version__
from .context import build_context
from .document import use_line_documents
from .session import Session, new_session_id, step_summary
from .settings import merge, to_config
from .streaming import insert_edit, stream_line, to_change

log = logging.getLogger(__name__)


class VigorServer(LanguageServer):
    """Holds the settings, the live sessions (one per document) and one engine Runtime per config."""

    def __init__(self) -> None:
        super().__init__("vigor-lsp", __version__)
        self.init_settings: dict[str, Any] = {}
        self.ws_settings: dict[str, Any] = {}
        self.sessions: dict[str, Session] = {}
        self.by_uri: dict[str, Session] = {}
        self.last_session: str | None = None
        self.runtimes: dict[str, Runtime] = {}

    @property
    def settings(self) -> dict[str, Any]:
        return merge(self.init_settings, self.ws_settings)

    def config(self) -> VigorConfig:
        from engine import local_available

        return to_config(self.settings, local_available=local_available)

    def runtime(self, config: VigorConfig) -> Runtime:
        key = config.digest()
        if key not in self.runtimes:
            self.runtimes[key] = Runtime(config)
        return self.runtimes[key]

    def trace_dir(self, uri: str) -> Path:
        root = self.workspace.root_path
        base = Path(root) if root else Path(to_fs_path(uri) or ".").parent
        return base / ".vigor" / "traces"

    def forget_old_sessions(self, keep: int = 100) -> None:
        """Long editor sessions stay lean: only the latest finished sessions are kept (for openTrace)."""
        done = [
            sid for sid, s in self.sessions.items() if s.task is not None and s.task.done() and s.uri not in self.by_uri
        ]
        for sid in done[: max(0, len(done) - keep)]:
            self.sessions.pop(sid, None)

    def prune(self) -> None:
        """pygls keeps a future per incoming notification under a random id: drop the finished ones."""
        futures = self.protocol._request_futures
        for key in [k for k, f in futures.items() if f.done()]:
            futures.pop(key, None)


server = VigorServer()


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _section(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and isinstance(value.get("vigor"), dict):
        return value["vigor"]
    return value if isinstance(value, dict) else {}


def _fail(message: str) -> JsonRpcException:
    return JsonRpcException(message=message, code=-32803)  # RequestFailed


async def _fetch_configuration(ls: VigorServer) -> None:
    caps = ls.client_capabilities.workspace
    if not (caps and caps.configuration):
        return
    try:
        items = await ls.workspace_configuration_async(
            lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section="vigor")])
        )
        ls.ws_settings = _section(items[0]) if items else {}
    except Exception as exc:
        log.warning("workspace/configuration failed: %s", exc)


@server.feature(lsp.INITIALIZE)
def initialize(ls: VigorServer, params: lsp.InitializeParams) -> None:
    ls.init_settings = _section(params.initialization_options)
    use_line_documents(ls.workspace)
    # cattrs builds its (un)structure hooks on first use: pay that now, not on a session's first edit
    converter = ls.protocol._converter
    converter.unstructure(insert_edit("file:///warm-up", 0, 0, "\n"))
    converter.structure({"applied": True}, lsp.ApplyWorkspaceEditResult)
    change = {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}, "text": ""}
    converter.structure(
        {"textDocument": {"uri": "file:///warm-up", "version": 1}, "contentChanges": [change]},
        lsp.DidChangeTextDocumentParams,
    )
    converter.unstructure(lsp.ProgressParams(token="t", value=lsp.WorkDoneProgressReport(message="")))
    # ... and for the whole messages a session's first line sends and receives
    converter.unstructure(lsp.ApplyWorkspaceEditRequest(id=0, params=insert_edit("file:///warm-up", 0, 0, "\n")))
    converter.structure({"jsonrpc": "2.0", "id": 0, "result": {"applied": True}}, lsp.ApplyWorkspaceEditResponse)
    converter.structure(
        {
            "jsonrpc": "2.0",
            "method": lsp.TEXT_DOCUMENT_DID_CHANGE,
            "params": {"textDocument": {"uri": "file:///warm-up", "version": 1}, "contentChanges": [change]},
        },
        lsp.DidChangeTextDocumentNotification,
    )
    converter.unstructure(
        lsp.ProgressNotification(params=lsp.ProgressParams(token="t", value=lsp.WorkDoneProgressReport(message="")))
    )
    command = {"command": "vigor.generate", "arguments": [{"textDocument": {"uri": "file:///w", "version": 1}}]}
    converter.structure(
        {"jsonrpc": "2.0", "id": 0, "method": "workspace/executeCommand", "params": command},
        lsp.ExecuteCommandRequest,
    )
    converter.unstructure(lsp.ExecuteCommandResponse(id=0, result={"sessionId": "s", "anchor": 0}))


@server.feature(lsp.INITIALIZED)
async def initialized(ls: VigorServer, params: lsp.InitializedParams) -> None:
    await _fetch_configuration(ls)
    await asyncio.sleep(0)
    _warm_imports()
    # a first vigor.generate should not pay first-use costs: context building, config validation
    build_context('def f(x):\n    """Double.\n    >>> f(1)\n    2\n    """\n\n', 5, 0, None, "warm-up")
    try:
        ls.config()
    except Exception as exc:  # no model configured yet: vigor.generate will say so
        log.debug("warm-up config: %s", exc)


def _warm_imports() -> None:
    """Import the engine's agents (the openai client alone takes ~0.5 s) before the first command, not in it."""
    import importlib

    for name in (
        "engine.llm.local_model",
        "engine.agents.coders.openai_coder",
        "engine.agents.evaluator",
        "engine.agents.language.agent",
        "engine.agents.reviewer",
        "engine.agents.tester",
        "engine.execution.sandbox",
    ):
        try:
            importlib.import_module(name)
        except ImportError as exc:  # an optional piece missing must not stop the server
            log.info("warm-up import %s failed: %s", name, exc)


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: VigorServer, params: lsp.DidChangeConfigurationParams) -> None:
    pushed = _section(params.settings)
    if pushed:
        ls.ws_settings = pushed
    else:
        await _fetch_configuration(ls)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: VigorServer, params: lsp.DidChangeTextDocumentParams) -> None:
    session = ls.by_uri.get(params.text_document.uri)
    if session is not None:
        for change in params.content_changes:
            session.observe(to_change(change))
    ls.prune()


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: VigorServer, params: lsp.DidCloseTextDocumentParams) -> None:
    session = ls.by_uri.get(params.text_document.uri)
    if session is not None:
        session.conflict("the document was closed during generation")


async def _caught_up(ls: VigorServer, uri: str, version: Any, timeout_s: float = 1.0) -> bool:
    """Wait for the didChange the client may still be debouncing (its version is newer than ours)."""
    if not isinstance(version, int):
        return True
    for _ in range(int(timeout_s / 0.01)):
        if (ls.workspace.get_text_document(uri).version or 0) >= version:
            return True
        await asyncio.sleep(0.01)
    return False


def _busy(ls: VigorServer, uri: str) -> None:
    if uri in ls.by_uri:
        raise _fail(f"VIGOR is busy in this document (session {ls.by_uri[uri].id}); cancel it or wait for it to end")


@server.command("vigor.generate")
async def generate(ls: VigorServer, *args: Any) -> dict[str, Any]:
    """Start a session at the cursor and answer its id at once; the session runs in the background."""
    arg = args[0] if args else {}
    ident = _get(arg, "textDocument", {})
    uri, version = _get(ident, "uri"), _get(ident, "version")
    position = _get(arg, "position", {})
    if not uri:
        raise _fail("vigor.generate needs {textDocument: {uri, version}, position, instruction?}")
    _busy(ls, uri)
    try:
        config = ls.config()
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    if not await _caught_up(ls, uri, version):
        raise _fail(f"the server has not seen version {version} of {uri} yet; try again")
    _busy(ls, uri)
    doc = ls.workspace.get_text_document(uri)
    lines = list(doc.lines)
    row = int(_get(position, "line", 0))
    column = 0
    if row < len(lines):
        column = doc.position_from_client_units(
            lsp.Position(line=row, character=int(_get(position, "character", 0)))
        ).character
    sid = new_session_id()
    ctx = build_context(doc.source, row, column, _get(arg, "instruction"), sid)
    traces = ls.trace_dir(uri)
    session = Session(sid, uri, ctx.anchor, traces / f"{sid}.jsonl", traces / f"{sid}.html", token=f"vigor/{sid}")
    ls.sessions[sid] = session
    ls.by_uri[uri] = session
    ls.last_session = sid
    session.task = asyncio.ensure_future(_run(ls, session, ctx.task, config))
    return {"sessionId": sid, "anchor": ctx.anchor}


def _cancel(ls: VigorServer, sid: str | None) -> bool:
    session = ls.sessions.get(sid or "")
    if session is None or session.task is None or session.task.done():
        return False
    session.cancelled = True
    if session.pending is None:
        session.confirmed.set()
    # else an edit is in flight: its streamer waits for the didChange (bounded), so the buffer and
    # the session's account of it agree, then stops
    return True


@server.command("vigor.cancel")
def cancel(ls: VigorServer, *args: Any) -> dict[str, Any]:
    arg = args[0] if args else {}
    return {"cancelled": _cancel(ls, _get(arg, "sessionId") or ls.last_session)}


@server.feature("vigor/cancel")
def cancel_notification(ls: VigorServer, params: Any) -> None:
    _cancel(ls, _get(params, "sessionId") or ls.last_session)


@server.command("vigor.openTrace")
async def open_trace(ls: VigorServer, *args: Any) -> str:
    """Write the session's trace page (live sessions too) and ask the client to show it."""
    arg = args[0] if args else {}
    session = ls.sessions.get(_get(arg, "sessionId") or ls.last_session or "")
    if session is None:
        raise _fail("no VIGOR session to show a trace for")
    if not session.trace_html.exists() and session.trace_jsonl.exists():
        write_task_html(read_trace(session.trace_jsonl), session.trace_html)
    uri = from_fs_path(str(session.trace_html)) or str(session.trace_html)
    try:
        await ls.window_show_document_async(lsp.ShowDocumentParams(uri=uri, external=True))
    except Exception as exc:
        log.info("showDocument failed: %s", exc)
    return str(session.trace_html)


async def _begin_progress(ls: VigorServer, session: Session) -> bool:
    window = ls.client_capabilities.window
    if not (window and window.work_done_progress):
        return False
    try:
        await ls.work_done_progress.create_async(session.token)
    except Exception as exc:
        log.info("progress create failed: %s", exc)
        return False
    ls.work_done_progress.begin(
        session.token, lsp.WorkDoneProgressBegin(title="VIGOR", cancellable=True, message="step 0")
    )
    future = ls.work_done_progress.tokens.get(session.token)
    if future is not None:
        future.add_done_callback(lambda f: f.cancelled() and _cancel(ls, session.id))
    return True


async def _run(ls: VigorServer, session: Session, task: Any, config: VigorConfig) -> None:
    """One session from progress begin to `vigor/end`; the document is freed whatever happens."""
    trace = JsonlTrace(session.trace_jsonl)
    progress = False
    outcome, detail = "error", ""
    try:
        progress = await _begin_progress(ls, session)
        outcome, detail = await _generate(ls, session, task, config, trace, progress)
    except Exception as exc:
        log.exception("session %s failed", session.id)
        detail = str(exc)
    finally:
        if session.end_reason:
            outcome, detail = session.end_reason, session.end_detail
        elif session.cancelled:
            outcome = "cancelled"
        _finish(ls, session, task, trace, progress, outcome, detail)


async def _generate(
    ls: VigorServer, session: Session, task: Any, config: VigorConfig, trace: JsonlTrace, progress: bool
) -> tuple[str, str]:
    timeout = float(ls.settings.get("confirmTimeoutS", 2.0))

    async def on_step(info: StepInfo) -> None:
        t0 = time.perf_counter()
        session.steps = info.step + 1
        summary = step_summary(session, info.step, info.line, info.record)
        session.last_decision = f"{summary['committed']!r}" if summary["committed"] is not None else "end"
        _report(ls, session, progress, f"step {session.steps}: {session.last_decision}")
        if info.line is not None and not session.stopping:
            await stream_line(ls, session, info.line, timeout)
        summary["serverMs"] = round((time.perf_counter() - t0) * 1000, 3)
        ls.protocol.notify("vigor/step", summary)

    runtime = ls.runtime(config)
    loop = asyncio.get_running_loop()

    def preparing(message: str) -> None:  # from the preparing thread: hand it to the event loop
        loop.call_soon_threadsafe(_report, ls, session, progress, message)

    await runtime.prepare(preparing)
    if session.stopping:
        return "cancelled", "cancelled while the model was being prepared"
    result = await runtime.run(task, trace=trace, on_step=on_step, is_cancelled=lambda: session.stopping)
    return result.status, result.reason


def _report(ls: VigorServer, session: Session, progress: bool, message: str) -> None:
    """One work-done progress report for the session (when the client takes progress)."""
    if progress:
        ls.work_done_progress.report(session.token, lsp.WorkDoneProgressReport(message=message))


def _finish(
    ls: VigorServer, session: Session, task: Any, trace: JsonlTrace, progress: bool, outcome: str, detail: str
) -> None:
    lines = len(session.written)
    trace.emit("editor_end", task_id=task.task_id, session=session.id, outcome=outcome, detail=detail, lines=lines)
    trace.close()
    try:
        write_task_html(read_trace(session.trace_jsonl), session.trace_html)
    except Exception as exc:
        log.warning("trace page failed: %s", exc)
    ls.by_uri.pop(session.uri, None)
    ls.forget_old_sessions()
    if progress:
        end = lsp.WorkDoneProgressEnd(message=f"{outcome} after {session.steps} steps")
        ls.work_done_progress.end(session.token, end)
        ls.work_done_progress.tokens.pop(session.token, None)
    ls.protocol.notify(
        "vigor/end",
        {
            "sessionId": session.id,
            "uri": session.uri,
            "outcome": outcome,
            "detail": detail,
            "lines": lines,
            "tracePath": str(session.trace_jsonl),
            "htmlPath": str(session.trace_html),
        },
    )


@server.feature(lsp.SHUTDOWN)
async def shutdown(ls: VigorServer, params: Any) -> None:
    for sid in list(ls.sessions):
        _cancel(ls, sid)
    for runtime in ls.runtimes.values():
        await runtime.aclose()
    ls.runtimes.clear()


def main(argv: list[str] | None = None) -> None:
    """`vigor-lsp`: stdio by default, `--tcp HOST:PORT` for a socket."""
    parser = argparse.ArgumentParser(prog="vigor-lsp", description="VIGOR language server")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
