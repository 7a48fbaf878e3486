"""pygls extended where it is meant to be: a converter factory (the command argument types, warmed) and a
protocol class whose document-sync and exit handlers replace the built-in ones."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import cattrs
from lsprotocol import types as lsp
from pygls.protocol import LanguageServerProtocol, default_converter, lsp_method

from .params import GENERATE, GenerateArgs, install_argument_hooks
from .streaming import insert_edit

if TYPE_CHECKING:
    from .server import VigorServer


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
