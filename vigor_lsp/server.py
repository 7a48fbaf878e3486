"""The pygls server: one LSP feature per function; the work lives in context, session, streaming, params.

pygls is extended only where it is meant to be: a converter factory (the command argument types),
a protocol class (`protocol_cls`) whose document-sync and exit handlers replace the built-in ones, and
typed command handlers (pygls structures their annotated argument and answers InvalidParams itself).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import cattrs
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol, default_converter, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from engine import ConfigError, JsonlTrace, Runtime, StepInfo, Task, VigorConfig, read_trace, write_task_html

from . import __version__
from .context import build_context
from .document import LineDocument
from .params import (
    CANCEL,
    CANCEL_NOTIFICATION,
    END_NOTIFICATION,
    GENERATE,
    OPEN_TRACE,
    STEP_NOTIFICATION,
    GenerateArgs,
    InvalidArgument,
    SessionArgs,
    Settings,
    install_argument_hooks,
    merge,
    read_settings,
    structure,
)
from .session import CANCELLED, FAILED_EXAMPLES, Change, Session, new_session_id, step_summary
from .settings import to_config
from .streaming import insert_edit, is_insert, plan_insert, stream_line

log = logging.getLogger(__name__)


def make_converter() -> cattrs.Converter:
    """pygls's converter with the command argument types, warmed (see `warm_messages`)."""
    converter = install_argument_hooks(default_converter())
    warm_messages(converter)
    return converter


def warm_messages(converter: cattrs.Converter) -> None:
    """cattrs builds a type's (un)structure hooks on first use: pay that at start for every message a
    session's first line sends and receives, not on that line (the 20 ms first-edit target)."""
    at = lsp.Position(line=0, character=0)
    edit = insert_edit("file:///warm-up", 1, at, "\n")
    ident = lsp.VersionedTextDocumentIdentifier(uri="file:///warm-up", version=1)
    change = lsp.TextDocumentContentChangePartial(range=lsp.Range(start=at, end=at), text="")
    report = lsp.ProgressParams(token="t", value=lsp.WorkDoneProgressReport(message=""))
    command = lsp.ExecuteCommandParams(
        command=GENERATE,
        arguments=[{"textDocument": {"uri": "file:///w", "version": 1}, "position": {"line": 0, "character": 0}}],
    )
    samples: list[Any] = [
        lsp.ApplyWorkspaceEditRequest(id=0, params=edit),
        lsp.ApplyWorkspaceEditResponse(id=0, result=lsp.ApplyWorkspaceEditResult(applied=True)),
        lsp.DidChangeTextDocumentNotification(
            params=lsp.DidChangeTextDocumentParams(text_document=ident, content_changes=[change])
        ),
        lsp.ProgressNotification(params=report),
        lsp.ExecuteCommandRequest(id=0, params=command),
        lsp.ExecuteCommandResponse(id=0, result={"sessionId": "s", "anchor": 0}),
    ]
    for sample in samples:
        converter.structure(converter.unstructure(sample), type(sample))
    converter.structure(command.arguments[0], GenerateArgs)


class VigorProtocol(LanguageServerProtocol):
    """pygls's protocol with VIGOR's document sync (the server's own LineDocuments, versions that never
    go back, changes confirmed by their effect) and an exit that keeps its exit code.

    These handlers are plain functions: pygls keeps a future for every generator-handled notification
    and never drops it, which a long editing session would pile up.
    """

    shut_down = False
    exit_code: int | None = None
    vigor: VigorServer  # the server these handlers serve (set by VigorServer)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: lsp.DidOpenTextDocumentParams) -> None:
        self.vigor.open_document(params.text_document)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams) -> None:
        self.vigor.change_document(params)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: lsp.DidCloseTextDocumentParams) -> None:
        self.vigor.close_document(params.text_document.uri)

    @lsp_method(lsp.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Any:
        self.shut_down = True
        return (yield from super().lsp_shutdown(*args))

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args: Any) -> Any:
        # pygls computes the code (1 without a shutdown first) and raises SystemExit, which its
        # start_io swallows: keep the code for main()
        self.exit_code = 0 if self.shut_down else 1
        self.vigor.exiting()
        return (yield from super().lsp_exit(*args))


class VigorServer(LanguageServer):
    """Holds the settings, the open documents, the live sessions (one per document) and one engine
    Runtime per config."""

    protocol: VigorProtocol

    def __init__(self) -> None:
        super().__init__("vigor-lsp", __version__, protocol_cls=VigorProtocol, converter_factory=make_converter)
        self.protocol.vigor = self
        self.init_settings: dict[str, Any] = {}
        self.ws_settings: dict[str, Any] = {}
        self.documents: dict[str, LineDocument] = {}
        self.sessions: dict[str, Session] = {}
        self.by_uri: dict[str, Session] = {}
        self.last_session: str | None = None
        self.runtimes: dict[str, Runtime] = {}
        self.closed = False  # after `exit`: nothing more is sent

    # -- settings and runtimes

    @property
    def raw_settings(self) -> dict[str, Any]:
        return merge(self.init_settings, self.ws_settings)

    def settings(self) -> Settings:
        """The merged settings; ConfigError naming the bad key."""
        try:
            return read_settings(self.raw_settings)
        except InvalidArgument as exc:
            raise ConfigError(str(exc)) from None

    def config(self) -> VigorConfig:
        from engine import local_available

        return to_config(self.settings(), local_available=local_available)

    def runtime(self, config: VigorConfig) -> Runtime:
        key = config.digest()
        if key not in self.runtimes:
            self.runtimes[key] = Runtime(config)
        return self.runtimes[key]

    def trace_dir(self, uri: str) -> Path:
        root = self.workspace.root_path
        base = Path(root) if root else Path(to_fs_path(uri) or ".").parent
        return base / ".vigor" / "traces"

    def notify(self, method: str, params: Any) -> None:
        """A notification to the client, unless the connection is closing (no writes to a closed pipe)."""
        if not self.closed:
            self.protocol.notify(method, params)

    # -- documents

    def document(self, uri: str) -> LineDocument | None:
        return self.documents.get(uri)

    def open_document(self, item: lsp.TextDocumentItem) -> None:
        codec = self.workspace.position_codec
        self.documents[item.uri] = LineDocument(item.uri, item.text, item.version, codec)

    def close_document(self, uri: str) -> None:
        self.documents.pop(uri, None)
        session = self.by_uri.get(uri)
        if session is not None:
            session.conflict("the document was closed during generation")

    def change_document(self, params: lsp.DidChangeTextDocumentParams) -> None:
        """Apply a didChange: refused (and logged) when the document is unknown or the version is not
        newer; each change is shown to the document's session, ours recognised by its effect."""
        uri, version = params.text_document.uri, params.text_document.version
        doc = self.documents.get(uri)
        if doc is None:
            log.warning("didChange for %s, which was never opened: ignored", uri)
            return
        if doc.version is not None and version <= doc.version:
            log.warning("stale didChange for %s: version %s after %s; ignored", uri, version, doc.version)
            return
        session = self.by_uri.get(uri)
        for change in params.content_changes:
            rng = getattr(change, "range", None)
            if session is None:
                doc.apply_change(change)
                continue
            if rng is None:
                doc.apply_change(change)
                session.observe(Change(None, None, change.text))
                continue
            start, end = doc.points(rng)
            seen = Change(start, end, change.text)
            if session.pending is not None:
                planned = plan_insert(doc.lines, session.anchor, session.pending)
                if is_insert(doc.lines, start, end, change.text, planned):
                    seen = Change((session.anchor, 0), (session.anchor, 0), session.pending + "\n")
            doc.apply_change(change)
            session.observe(seen)
        doc.version = version

    # -- sessions

    def cancel(self, sid: str | None) -> bool:
        session = self.sessions.get(sid or "")
        if session is None or session.task is None or session.task.done():
            return False
        session.cancelled = True
        if session.pending is None:
            session.confirmed.set()
        # else an edit is in flight: its streamer waits for the didChange (bounded), so the buffer and
        # the session's account of it agree, then stops
        return True

    def forget_old_sessions(self, keep: int = 100) -> None:
        """Long editor sessions stay lean: only the latest finished sessions are kept (for openTrace)."""
        done = [
            sid for sid, s in self.sessions.items() if s.task is not None and s.task.done() and s.uri not in self.by_uri
        ]
        for sid in done[: max(0, len(done) - keep)]:
            self.sessions.pop(sid, None)

    def exiting(self) -> None:
        """`exit` arrived: stop every session quietly (their traces are still written)."""
        self.closed = True
        for sid in list(self.sessions):
            self.cancel(sid)


server = VigorServer()


def _section(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and isinstance(value.get("vigor"), dict):
        return value["vigor"]
    return value if isinstance(value, dict) else {}


def _fail(message: str) -> JsonRpcException:
    return JsonRpcException(message=message, code=-32803)  # RequestFailed


def _check_settings(ls: VigorServer) -> None:
    """Tell the user at once when a setting is wrong (not only at the next vigor.generate)."""
    try:
        ls.settings()
    except ConfigError as exc:
        log.warning("%s", exc)
        ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Error, message=f"VIGOR: {exc}"))


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


@server.feature(lsp.INITIALIZED)
async def initialized(ls: VigorServer, params: lsp.InitializedParams) -> None:
    await _fetch_configuration(ls)
    _check_settings(ls)
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
    _check_settings(ls)


async def _caught_up(ls: VigorServer, uri: str, version: int | None, timeout_s: float = 1.0) -> bool:
    """Wait for the didChange the client may still be debouncing (its version is newer than ours)."""
    if version is None:
        return True
    for _ in range(int(timeout_s / 0.01)):
        doc = ls.document(uri)
        if doc is not None and (doc.version or 0) >= version:
            return True
        await asyncio.sleep(0.01)
    return False


def _busy(ls: VigorServer, uri: str) -> None:
    if uri in ls.by_uri:
        raise _fail(f"VIGOR is busy in this document (session {ls.by_uri[uri].id}); cancel it or wait for it to end")


def _cursor(ls: VigorServer, arg: GenerateArgs) -> tuple[LineDocument, int, int]:
    """The document and the cursor in code points; InvalidParams for a position outside the document."""
    doc = ls.document(arg.text_document.uri)
    if doc is None:
        raise _fail(f"{arg.text_document.uri} is not open in the server (no didOpen received for it)")
    row = arg.position.line
    if row > len(doc.lines):
        raise JsonRpcInvalidParams(
            f"{JsonRpcInvalidParams.MESSAGE}: {GENERATE}: position.line: {row} is past the end of the document "
            f"({len(doc.lines)} lines)"
        )
    column = 0
    if row < len(doc.lines):
        column = doc.position_from_client_units(lsp.Position(line=row, character=arg.position.character)).character
    return doc, row, column


@server.command(GENERATE)
async def generate(ls: VigorServer, arg: GenerateArgs) -> dict[str, Any]:
    """Start a session at the cursor and answer its id at once; the session runs in the background."""
    uri, version = arg.text_document.uri, arg.text_document.version
    if ls.document(uri) is None:
        raise _fail(f"{uri} is not open in the server (no didOpen received for it)")
    _busy(ls, uri)
    try:
        config = ls.config()
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    if not await _caught_up(ls, uri, version):
        raise _fail(f"the server has not seen version {version} of {uri} yet; try again")
    _busy(ls, uri)
    doc, row, column = _cursor(ls, arg)
    sid = new_session_id()
    ctx = build_context(doc.source, row, column, arg.instruction, sid)
    traces = ls.trace_dir(uri)
    session = Session(sid, uri, ctx.anchor, traces / f"{sid}.jsonl", traces / f"{sid}.html", token=f"vigor/{sid}")
    ls.sessions[sid] = session
    ls.by_uri[uri] = session
    ls.last_session = sid
    session.task = asyncio.ensure_future(_run(ls, session, ctx.task, config))
    return {"sessionId": sid, "anchor": ctx.anchor}


@server.command(CANCEL)
def cancel(ls: VigorServer, arg: SessionArgs) -> dict[str, Any]:
    return {"cancelled": ls.cancel(arg.session_id or ls.last_session)}


@server.feature(CANCEL_NOTIFICATION)
def cancel_notification(ls: VigorServer, params: Any) -> None:
    # a notification has no answer to carry an error: a bad argument is logged and ignored
    try:
        arg = structure(_plain(params), SessionArgs, CANCEL_NOTIFICATION)
    except InvalidArgument as exc:
        log.warning("%s", exc)
        return
    ls.cancel(arg.session_id or ls.last_session)


def _plain(params: Any) -> Any:
    """pygls hands a custom notification's params over as a named tuple (or None): back to JSON shape."""
    if params is None:
        return {}
    as_dict = getattr(params, "_asdict", None)
    return as_dict() if as_dict is not None else params


@server.command(OPEN_TRACE)
async def open_trace(ls: VigorServer, arg: SessionArgs) -> str:
    """Write the session's trace page (live sessions too) and ask the client to show it."""
    session = ls.sessions.get(arg.session_id or ls.last_session or "")
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
        future.add_done_callback(lambda f: f.cancelled() and ls.cancel(session.id))
    return True


async def _run(ls: VigorServer, session: Session, task: Task, config: VigorConfig) -> None:
    """One session from progress begin to `vigor/end`; the document is freed whatever happens."""
    trace = JsonlTrace(session.trace_jsonl)
    progress = False
    outcome, detail, examples = "error", "", {}
    try:
        progress = await _begin_progress(ls, session)
        outcome, detail, examples = await _generate(ls, session, task, config, trace, progress)
    except asyncio.CancelledError:  # the server is going away (exit): end the session's records
        outcome, detail = CANCELLED, "the server is shutting down"
    except Exception as exc:
        log.exception("session %s failed", session.id)
        detail = str(exc)
    finally:
        if session.end_reason:
            outcome, detail = session.end_reason, session.end_detail
        elif session.cancelled and outcome != CANCELLED:
            outcome = CANCELLED
        _finish(ls, session, task, trace, progress, outcome, detail, examples)


async def _generate(
    ls: VigorServer, session: Session, task: Task, config: VigorConfig, trace: JsonlTrace, progress: bool
) -> tuple[str, str, dict[str, Any]]:
    timeout = ls.settings().confirm_timeout_s

    async def on_step(info: StepInfo) -> None:
        t0 = time.perf_counter()
        session.steps = info.step + 1
        summary = step_summary(session, info.step, info.line, info.record)
        session.last_decision = f"{summary['committed']!r}" if summary["committed"] is not None else "end"
        _report(ls, session, progress, f"step {session.steps}: {session.last_decision}")
        if info.line is not None and not session.stopping:
            await stream_line(ls, session, info.line, timeout)
        summary["serverMs"] = round((time.perf_counter() - t0) * 1000, 3)
        ls.notify(STEP_NOTIFICATION, summary)

    runtime = ls.runtime(config)
    loop = asyncio.get_running_loop()

    def preparing(message: str) -> None:  # from the preparing thread: hand it to the event loop
        loop.call_soon_threadsafe(_report, ls, session, progress, message)

    await runtime.prepare(preparing)
    if session.stopping:
        return CANCELLED, "cancelled while the model was being prepared", {}
    result = await runtime.run(task, trace=trace, on_step=on_step, is_cancelled=lambda: session.stopping)
    return judged(result.status, result.reason, result.tests)


def judged(status: str, reason: str, tests: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The session's outcome with its examples' verdict: finished code that fails the examples the
    buffer or the instruction gave is `failed_examples`, never just `completed`."""
    passed, failed = int(tests.get("passed") or 0), int(tests.get("failed") or 0)
    # code that does not even compile reports ran=0 and every example failed: count what was checked
    ran = passed + failed
    examples = {"ran": ran, "passed": passed, "failed": failed}
    if not ran or tests.get("ok"):
        return status, reason, examples
    failures = tests.get("failures") or ([tests["error"]] if tests.get("error") else [])
    what = f"the code fails {examples['failed']} of {ran} example(s)"
    if failures:
        what += f": {failures[0]}"
    if status == "completed":
        return FAILED_EXAMPLES, what, examples
    return status, f"{reason}; {what}" if reason else what, examples


def _report(ls: VigorServer, session: Session, progress: bool, message: str) -> None:
    """One work-done progress report for the session (when the client takes progress)."""
    if progress and not ls.closed:
        ls.work_done_progress.report(session.token, lsp.WorkDoneProgressReport(message=message))


def _finish(
    ls: VigorServer,
    session: Session,
    task: Task,
    trace: JsonlTrace,
    progress: bool,
    outcome: str,
    detail: str,
    examples: dict[str, Any],
) -> None:
    lines = len(session.written)
    trace.emit(
        "editor_end",
        task_id=task.task_id,
        session=session.id,
        outcome=outcome,
        detail=detail,
        lines=lines,
        examples=examples,
    )
    trace.close()
    try:
        write_task_html(read_trace(session.trace_jsonl), session.trace_html)
    except Exception as exc:
        log.warning("trace page failed: %s", exc)
    ls.by_uri.pop(session.uri, None)
    ls.forget_old_sessions()
    if progress and not ls.closed:
        end = lsp.WorkDoneProgressEnd(message=f"{outcome} after {session.steps} steps")
        ls.work_done_progress.end(session.token, end)
        ls.work_done_progress.tokens.pop(session.token, None)
    ls.notify(
        END_NOTIFICATION,
        {
            "sessionId": session.id,
            "uri": session.uri,
            "outcome": outcome,
            "detail": detail,
            "lines": lines,
            "examples": examples,
            "tracePath": str(session.trace_jsonl),
            "htmlPath": str(session.trace_html),
        },
    )


@server.feature(lsp.SHUTDOWN)
async def shutdown(ls: VigorServer, params: Any) -> None:
    """Cancel the sessions, let them write their end (bounded), then close the runtimes."""
    live = [s.task for s in ls.sessions.values() if s.task is not None and not s.task.done()]
    for sid in list(ls.sessions):
        ls.cancel(sid)
    if live:
        await asyncio.wait(live, timeout=5.0)
    for runtime in ls.runtimes.values():
        try:
            await runtime.aclose()
        except Exception as exc:  # a runtime that fails to close must not fail the shutdown
            log.warning("closing a runtime failed: %s", exc)
    ls.runtimes.clear()


def main(argv: list[str] | None = None) -> None:
    """`vigor-lsp`: stdio by default, `--tcp HOST:PORT` for a socket. Exits 1 when the client sent `exit`
    without `shutdown` first, or went away without either (LSP: "exit code 1 otherwise")."""
    parser = argparse.ArgumentParser(prog="vigor-lsp", description="VIGOR language server")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    # vscode-languageclient appends --stdio to the command line of a stdio server
    parser.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    code = server.protocol.exit_code
    raise SystemExit(code if code is not None else (0 if server.protocol.shut_down else 1))
