import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import * as vscode from './mock/vscode';
import { UndoMerger, type ApplyEditParams, type Converter } from '../src/undo';

const URI = 'file:///ws/task.py';

const p2c = {
  asUri: (value: string) => vscode.Uri.parse(value),
  asRange: (r: { start: { line: number; character: number }; end: { line: number; character: number } }) =>
    new vscode.Range(new vscode.Position(r.start.line, r.start.character), new vscode.Position(r.end.line, r.end.character)),
  asWorkspaceEdit: async (edit: unknown) => ({ converted: edit }),
} as unknown as Converter;

/** The server's edit for one line: insert `text` at column 0 of `line`, for document `version`. */
function lineEdit(version: number, line: number, text: string): ApplyEditParams {
  const at = { line, character: 0 };
  return {
    edit: { documentChanges: [{ textDocument: { uri: URI, version }, edits: [{ range: { start: at, end: at }, newText: text }] }] },
  };
}

function visibleEditor(version: number): vscode.TextEditor {
  const editor = new vscode.TextEditor({ uri: vscode.Uri.parse(URI), version });
  vscode.workspace.textDocuments = [editor.document];
  vscode.window.visibleTextEditors = [editor];
  return editor;
}

beforeEach(() => vscode.reset());

test("a session's lines share one undo step: a stop before the first line and after the end", async () => {
  const editor = visibleEditor(3);
  const merger = new UndoMerger(p2c, () => true);
  assert.deepEqual(await merger.apply(lineEdit(3, 8, 'a = 1\n')), { applied: true });
  assert.deepEqual(await merger.apply(lineEdit(4, 9, 'b = 2\n')), { applied: true });
  assert.deepEqual(await merger.apply(lineEdit(5, 10, 'c = 3\n')), { applied: true });
  await merger.close(URI);
  assert.deepEqual(
    editor.edits.map((e) => [e.replacements.map((r) => r.text).join(''), e.options]),
    [
      ['a = 1\n', { undoStopBefore: true, undoStopAfter: false }],
      ['b = 2\n', { undoStopBefore: false, undoStopAfter: false }],
      ['c = 3\n', { undoStopBefore: false, undoStopAfter: false }],
      ['', { undoStopBefore: false, undoStopAfter: true }],
    ],
  );
  assert.deepEqual(editor.edits[0].replacements[0].range, new vscode.Range(new vscode.Position(8, 0), new vscode.Position(8, 0)));
  assert.deepEqual(vscode.workspace.applied, []);
  await merger.close(URI); // closing twice does nothing
  assert.equal(editor.edits.length, 4);
});

test('an edit for an older version is refused (VS Code strict version rule)', async () => {
  const editor = visibleEditor(5);
  const merger = new UndoMerger(p2c, () => true);
  const result = await merger.apply(lineEdit(4, 8, 'a = 1\n'));
  assert.equal(result.applied, false);
  assert.match(result.failureReason ?? '', /version 4 .* version 5/);
  assert.equal(editor.edits.length, 0);
});

test('someone else editing between two lines starts a new undo step', async () => {
  const editor = visibleEditor(1);
  const merger = new UndoMerger(p2c, () => true);
  await merger.apply(lineEdit(1, 8, 'a = 1\n'));
  editor.document.version += 1; // the user typed
  await merger.apply(lineEdit(3, 0, 'b = 2\n'));
  assert.deepEqual(
    editor.edits.map((e) => (e.options as { undoStopBefore: boolean }).undoStopBefore),
    [true, true],
  );
});

test('the editor refusing the edit is answered as not applied', async () => {
  const editor = visibleEditor(1);
  editor.refuse = true;
  const merger = new UndoMerger(p2c, () => true);
  assert.equal((await merger.apply(lineEdit(1, 8, 'a = 1\n'))).applied, false);
});

test('a document not shown in an editor, or merging turned off, takes the stock workspace.applyEdit path', async () => {
  vscode.workspace.textDocuments = [{ uri: vscode.Uri.parse(URI), version: 2 }];
  const merger = new UndoMerger(p2c, () => true);
  const params = lineEdit(2, 0, 'a = 1\n');
  assert.deepEqual(await merger.apply(params), { applied: true });
  assert.deepEqual(vscode.workspace.applied, [{ converted: params.edit }]);

  const editor = visibleEditor(2);
  const off = new UndoMerger(p2c, () => false);
  assert.deepEqual(await off.apply(params), { applied: true });
  assert.equal(editor.edits.length, 0);
  assert.equal(vscode.workspace.applied.length, 2);
});

test('edits are applied one after the other in arrival order', async () => {
  const editor = visibleEditor(1);
  const merger = new UndoMerger(p2c, () => true);
  const results = await Promise.all([merger.apply(lineEdit(1, 0, 'a\n')), merger.apply(lineEdit(2, 1, 'b\n'))]);
  assert.deepEqual(results, [{ applied: true }, { applied: true }]);
  assert.deepEqual(editor.edits.map((e) => e.replacements[0].text), ['a\n', 'b\n']);
});
