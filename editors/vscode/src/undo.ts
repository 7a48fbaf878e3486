// One session, one undo step, where VS Code's API allows it.
//
// The stock language client applies every `workspace/applyEdit` with workspace.applyEdit, and VS Code
// closes an undo step around each one: a session of N lines is N undo steps. There is no public API to
// merge finished undo steps, but TextEditor.edit can leave the undo stops out. So a line for a document
// shown in a visible editor goes through editor.edit, with an undo stop only before the session's first
// line (or after anyone else edited the document) and one after its last (`close`, on vigor/end).
// Everything else (a document not shown, an edit that is not one text-document edit) takes the stock
// path, with the same strict version rule.
import * as vscode from 'vscode';

/** The LSP shapes this module reads (structurally the vscode-languageserver-protocol types). */
interface LspRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}
interface LspTextDocumentEdit {
  textDocument: { uri: string; version: number | null };
  edits: { range: LspRange; newText: string }[];
}
export interface ApplyEditParams {
  label?: string;
  edit: { documentChanges?: unknown[]; changes?: unknown };
}
export interface ApplyEditResult {
  applied: boolean;
  failureReason?: string;
}

/** The protocol -> VS Code conversions (the language client's protocol2CodeConverter). */
export interface Converter {
  asUri(value: string): vscode.Uri;
  asRange(value: LspRange): vscode.Range;
  asWorkspaceEdit(value: never): Promise<vscode.WorkspaceEdit>;
}

function isTextDocumentEdit(change: unknown): change is LspTextDocumentEdit {
  const c = change as Partial<LspTextDocumentEdit> | null;
  return !!c && typeof c.textDocument?.uri === 'string' && Array.isArray(c.edits);
}

function openDocument(uri: vscode.Uri): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
}

/** Applies the server's edits, merging a session's lines into one undo step in a visible editor. */
export class UndoMerger {
  /** Documents with an open undo group -> the document version right after our last edit. */
  private readonly open = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly p2c: Converter,
    private readonly enabled: () => boolean,
  ) {}

  /** The `workspace/applyEdit` handler; edits are applied one after the other, in arrival order. */
  apply(params: ApplyEditParams): Promise<ApplyEditResult> {
    return this.serial(() => this.applyNow(params));
  }

  /** The session in `uri` (a protocol uri) ended: close its undo group. */
  close(uri: string): Promise<void> {
    return this.serial(async () => {
      const key = this.p2c.asUri(uri).toString();
      if (!this.open.delete(key)) {
        return;
      }
      const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === key);
      await editor?.edit(() => undefined, { undoStopBefore: false, undoStopAfter: true });
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async applyNow(params: ApplyEditParams): Promise<ApplyEditResult> {
    const changes = params.edit.documentChanges ?? [];
    const stale = this.staleVersion(changes);
    if (stale) {
      return { applied: false, failureReason: stale };
    }
    const single = changes.length === 1 && !params.edit.changes && isTextDocumentEdit(changes[0]) ? changes[0] : undefined;
    const uri = single && this.p2c.asUri(single.textDocument.uri);
    const editor =
      uri && this.enabled()
        ? vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString())
        : undefined;
    if (!single || !editor) {
      const edit = await this.p2c.asWorkspaceEdit(params.edit as never);
      return { applied: await vscode.workspace.applyEdit(edit) };
    }
    const key = editor.document.uri.toString();
    // a new undo step unless this continues our own run of edits in this document
    const continues = this.open.get(key) === editor.document.version;
    const applied = await editor.edit(
      (builder) => {
        for (const e of single.edits) {
          builder.replace(this.p2c.asRange(e.range), e.newText);
        }
      },
      { undoStopBefore: !continues, undoStopAfter: false },
    );
    if (applied) {
      this.open.set(key, editor.document.version);
    }
    return applied ? { applied } : { applied, failureReason: 'the editor refused the edit (the document changed)' };
  }

  /** VS Code's rule: an edit for an open document must carry that document's current version. */
  private staleVersion(changes: unknown[]): string | undefined {
    for (const change of changes) {
      if (!isTextDocumentEdit(change) || typeof change.textDocument.version !== 'number') {
        continue;
      }
      const document = openDocument(this.p2c.asUri(change.textDocument.uri));
      if (document && document.version !== change.textDocument.version) {
        return `version ${change.textDocument.version} is not the document's version ${document.version}`;
      }
    }
    return undefined;
  }
}
