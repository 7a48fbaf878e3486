// The protocol exchange VS Code has with the real server, without VS Code: a vscode-jsonrpc client over
// the server's stdio that declares VS Code's capabilities and answers `workspace/applyEdit` with VS
// Code's strict version rule (an edit for any version but the buffer's current one is not applied).
//
// The task comes from the environment (tests/editors/scenario.py `client_env`, set by
// tests/editors/test_vscode.py); without it these tests are skipped.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type {
  ApplyWorkspaceEditParams,
  ApplyWorkspaceEditResult,
  ConfigurationParams,
  Position,
  TextDocumentContentChangeEvent,
  TextEdit,
} from 'vscode-languageserver-protocol';
import type { EndParams, GenerateResult, StepParams } from '../src/protocol';

const NEEDED = ['VIGOR_TEST_SERVER', 'VIGOR_TEST_SETTINGS', 'VIGOR_TEST_BUFFER_FILE', 'VIGOR_TEST_CURSOR', 'VIGOR_TEST_EXPECTED_LINES'];
const missing = NEEDED.filter((name) => !process.env[name]);
const skip = missing.length > 0 ? `needs ${missing.join(', ')} (set by tests/editors/test_vscode.py)` : false;
const SESSION_TIMEOUT_MS = 40_000;

/** The editor's copy of the document: text and version, edited the way VS Code does (utf-16 columns). */
class Buffer {
  version = 1;
  constructor(
    readonly uri: string,
    public text: string,
  ) {}

  private offsetAt(position: Position): number {
    const lines = this.text.split('\n');
    let offset = 0;
    for (let i = 0; i < position.line && i < lines.length; i++) {
      offset += lines[i].length + 1;
    }
    const line = lines[position.line] ?? '';
    return Math.min(offset + Math.min(position.character, line.length), this.text.length);
  }

  /** The document's line ending; VS Code turns the line endings of inserted text into it. */
  get eol(): string {
    return this.text.includes('\r\n') ? '\r\n' : '\n';
  }

  /** Apply the edits (last first, so each range is still valid) and return them as content changes. */
  apply(edits: TextEdit[]): TextDocumentContentChangeEvent[] {
    const eol = this.eol;
    const ordered = [...edits]
      .sort((a, b) => this.offsetAt(b.range.start) - this.offsetAt(a.range.start))
      .map((edit) => ({ range: edit.range, newText: edit.newText.replace(/\r?\n/g, eol) }));
    for (const edit of ordered) {
      const start = this.offsetAt(edit.range.start);
      const end = this.offsetAt(edit.range.end);
      this.text = this.text.slice(0, start) + edit.newText + this.text.slice(end);
    }
    return ordered.map((edit) => ({ range: edit.range, text: edit.newText }));
  }
}

interface Outcome {
  generated: GenerateResult;
  end: EndParams;
  steps: StepParams[];
  progress: { token: string; kind: string }[];
  inserted: string[];
  refused: number;
  buffer: Buffer;
}

/** VS Code's client capabilities, as far as this server cares. */
const CAPABILITIES = {
  general: { positionEncodings: ['utf-16'] },
  window: { workDoneProgress: true, showDocument: { support: true } },
  workspace: {
    applyEdit: true,
    workspaceEdit: { documentChanges: true },
    configuration: true,
    didChangeConfiguration: { dynamicRegistration: true },
    executeCommand: { dynamicRegistration: true },
  },
  textDocument: { synchronization: { dynamicRegistration: true, didSave: true } },
};

/**
 * Start the server, open the task buffer, run `vigor.generate` at the cursor and wait for `vigor/end`.
 * `onEdit` runs inside each applied `workspace/applyEdit`, after its didChange and before the answer.
 */
async function runSession(
  onEdit?: (connection: MessageConnection, count: number) => Promise<void>,
  options: { crlf?: boolean } = {},
): Promise<Outcome> {
  const [command, ...args] = process.env.VIGOR_TEST_SERVER!.trim().split(/\s+/);
  const bufferFile = process.env.VIGOR_TEST_BUFFER_FILE!;
  const settings = JSON.parse(process.env.VIGOR_TEST_SETTINGS!);
  const [line, character] = process.env.VIGOR_TEST_CURSOR!.split(',').map(Number);
  const root = dirname(bufferFile);
  const text = readFileSync(bufferFile, 'utf8');
  const buffer = new Buffer(pathToFileURL(bufferFile).href, options.crlf ? text.replace(/\n/g, '\r\n') : text);

  const child = spawn(command, args, { cwd: root, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));

  const steps: StepParams[] = [];
  const progress: { token: string; kind: string }[] = [];
  const inserted: string[] = [];
  let refused = 0;
  let edits = 0;
  let ended: (end: EndParams) => void = () => undefined;
  const end = new Promise<EndParams>((resolve) => (ended = resolve));

  connection.onRequest('workspace/applyEdit', async (params: ApplyWorkspaceEditParams): Promise<ApplyWorkspaceEditResult> => {
    const changes = params.edit.documentChanges ?? [];
    for (const change of changes) {
      if (!('textDocument' in change) || change.textDocument.uri !== buffer.uri || change.textDocument.version !== buffer.version) {
        refused += 1;
        return { applied: false, failureReason: 'version mismatch' };
      }
    }
    if (changes.length === 0 || params.edit.changes) {
      refused += 1;
      return { applied: false, failureReason: 'expected one versioned TextDocumentEdit' };
    }
    const contentChanges: TextDocumentContentChangeEvent[] = [];
    for (const change of changes) {
      if ('textDocument' in change) {
        const textEdits = change.edits as TextEdit[];
        contentChanges.push(...buffer.apply(textEdits));
        inserted.push(...textEdits.map((e) => e.newText));
      }
    }
    buffer.version += 1;
    await connection.sendNotification('textDocument/didChange', {
      textDocument: { uri: buffer.uri, version: buffer.version },
      contentChanges,
    });
    edits += 1;
    await onEdit?.(connection, edits);
    return { applied: true };
  });
  connection.onRequest('workspace/configuration', (params: ConfigurationParams) =>
    params.items.map((item) => (item.section === 'vigor' ? settings : null)),
  );
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onRequest('client/registerCapability', () => null);
  connection.onRequest('window/showDocument', () => ({ success: true }));
  connection.onNotification('$/progress', (params: { token: string; value: { kind: string } }) =>
    progress.push({ token: params.token, kind: params.value.kind }),
  );
  connection.onNotification('vigor/step', (params: StepParams) => steps.push(params));
  connection.onNotification('vigor/end', (params: EndParams) => ended(params));
  connection.listen();

  let timer: NodeJS.Timeout | undefined;
  try {
    const rootUri = pathToFileURL(root).href;
    await connection.sendRequest('initialize', {
      processId: process.pid,
      clientInfo: { name: 'Visual Studio Code (node protocol test)' },
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: 'task' }],
      capabilities: CAPABILITIES,
      initializationOptions: { vigor: settings },
    });
    await connection.sendNotification('initialized', {});
    await connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri: buffer.uri, languageId: 'python', version: buffer.version, text: buffer.text },
    });
    const generated = await connection.sendRequest<GenerateResult>('workspace/executeCommand', {
      command: 'vigor.generate',
      arguments: [{ textDocument: { uri: buffer.uri, version: buffer.version }, position: { line, character } }],
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no vigor/end within ${SESSION_TIMEOUT_MS} ms; server stderr:\n${stderr}`)), SESSION_TIMEOUT_MS);
    });
    const finished = await Promise.race([end, timeout]);
    await connection.sendRequest('shutdown');
    await connection.sendNotification('exit');
    return { generated, end: finished, steps, progress, inserted, refused, buffer };
  } finally {
    clearTimeout(timer);
    if ((await Promise.race([exited, new Promise((r) => setTimeout(() => r('running'), 3000))])) === 'running') {
      child.kill();
    }
    connection.dispose();
  }
}

/** The task buffer with `lines` inserted at `anchor`. */
function expectedText(original: string, anchor: number, lines: string[]): string {
  const all = original.split('\n');
  all.splice(anchor, 0, ...lines);
  return all.join('\n');
}

test('a session streams its lines into the buffer under the strict version rule and completes', { skip }, async () => {
  const expected: string[] = JSON.parse(process.env.VIGOR_TEST_EXPECTED_LINES!);
  const original = readFileSync(process.env.VIGOR_TEST_BUFFER_FILE!, 'utf8');
  const outcome = await runSession();
  if (process.env.VIGOR_TEST_OUT) {
    writeFileSync(process.env.VIGOR_TEST_OUT, outcome.buffer.text);
  }
  const { generated, end } = outcome;
  assert.equal(end.outcome, 'completed', `outcome ${end.outcome}: ${end.detail}`);
  assert.equal(end.sessionId, generated.sessionId);
  assert.equal(end.lines, expected.length);
  assert.deepEqual(end.examples, { ran: 1, passed: 1, failed: 0 }); // the docstring's example, run on the final code
  assert.deepEqual(outcome.inserted, expected.map((text) => `${text}\n`));
  assert.equal(outcome.refused, 0);
  assert.equal(outcome.buffer.version, 1 + expected.length);
  assert.equal(outcome.buffer.text, expectedText(original, generated.anchor, expected));
  // the live step count and the work-done progress of this session
  assert.ok(outcome.steps.length >= expected.length);
  assert.ok(outcome.steps.every((s) => s.sessionId === generated.sessionId && s.uri === outcome.buffer.uri));
  assert.deepEqual(outcome.steps.filter((s) => s.line !== null).map((s) => s.line), expected);
  const kinds = outcome.progress.filter((p) => p.token === `vigor/${generated.sessionId}`).map((p) => p.kind);
  assert.equal(kinds[0], 'begin');
  assert.equal(kinds.at(-1), 'end');
});

test('vigor.cancel during a session ends it as cancelled with the buffer holding what was confirmed', { skip }, async () => {
  const expected: string[] = JSON.parse(process.env.VIGOR_TEST_EXPECTED_LINES!);
  const original = readFileSync(process.env.VIGOR_TEST_BUFFER_FILE!, 'utf8');
  let cancelled: unknown;
  // cancel from inside the first edit, after its didChange: deterministic, however fast the model is
  const outcome = await runSession(async (connection, count) => {
    if (count === 1) {
      cancelled = await connection.sendRequest('workspace/executeCommand', { command: 'vigor.cancel', arguments: [{}] });
    }
  });
  assert.deepEqual(cancelled, { cancelled: true });
  assert.equal(outcome.end.outcome, 'cancelled', `outcome ${outcome.end.outcome}: ${outcome.end.detail}`);
  assert.equal(outcome.end.lines, 1);
  assert.deepEqual(outcome.inserted, [`${expected[0]}\n`]);
  assert.equal(outcome.buffer.text, expectedText(original, outcome.generated.anchor, expected.slice(0, 1)));
});

test('a CRLF document gets each line once, in its own line ending (VS Code normalises inserted text)', { skip }, async () => {
  const expected: string[] = JSON.parse(process.env.VIGOR_TEST_EXPECTED_LINES!);
  const original = readFileSync(process.env.VIGOR_TEST_BUFFER_FILE!, 'utf8');
  const outcome = await runSession(undefined, { crlf: true });
  assert.equal(outcome.end.outcome, 'completed', `outcome ${outcome.end.outcome}: ${outcome.end.detail}`);
  assert.equal(outcome.end.lines, expected.length);
  assert.equal(outcome.refused, 0);
  const want = expectedText(original, outcome.generated.anchor, expected).replace(/\n/g, '\r\n');
  assert.equal(outcome.buffer.text, want);
});

test('a wrong argument is refused with InvalidParams naming the field', { skip }, async () => {
  const [command, ...args] = process.env.VIGOR_TEST_SERVER!.trim().split(/\s+/);
  const child = spawn(command, args, { env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  connection.onRequest('workspace/configuration', () => [JSON.parse(process.env.VIGOR_TEST_SETTINGS!)]);
  connection.listen();
  try {
    await connection.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: CAPABILITIES });
    await connection.sendNotification('initialized', {});
    const uri = 'file:///never-opened.py';
    const call = (argument: unknown) => connection.sendRequest('workspace/executeCommand', { command: 'vigor.generate', arguments: [argument] });
    await assert.rejects(call({ textDocument: { uri, version: 1 }, position: null }), (error: { code: number; message: string }) => {
      assert.equal(error.code, -32602);
      assert.match(error.message, /position: expected an object, got null/);
      return true;
    });
    await assert.rejects(call({ textDocument: { uri, version: 1 }, position: { line: 0, character: 0 } }), /is not open in the server/);
    await connection.sendRequest('shutdown');
    await connection.sendNotification('exit');
  } finally {
    connection.dispose();
    child.kill();
  }
});
