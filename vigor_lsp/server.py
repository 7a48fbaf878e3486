"""The pygls server: its state (settings, documents, sessions) and one LSP feature per function.

The work lives beside it: params (typed arguments and settings), protocol (the converter factory and
the protocol class pygls is extended with), context (the Task from the buffer), running (one session),
streaming (lines into the buffer), session (its bookkeeping). Command handlers are typed: pygls
structures their annotated argument and answers InvalidParams itself.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from engine import ConfigError, Runtime, VigorConfig, read_trace, write_task_html

from . import __version__
from .context import build_context
from .document import LineDocument
from .params import (
    CANCEL,
    CANCEL_NOTIFICATION,
    GENERATE,
    OPEN_TRACE,
    GenerateArgs,
    InvalidArgument,
    SessionArgs,
    Settings,
    merge,
    read_settings,
    structure,
)
from .protocol import VigorProtocol, make_converter
from .running import run_session
from .session import Change, Session, new_session_id
from .settings import to_config
from .streaming import is_insert, plan_insert

log = logging.getLogger(__name__)


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
    session.task = asyncio.ensure_future(run_session(ls, session, ctx.task, config))
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
