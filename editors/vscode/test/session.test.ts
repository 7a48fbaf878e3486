import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import * as vscode from './mock/vscode';
import type { EndParams, StepParams } from '../src/protocol';
import { Commands, type ServerClient, type SessionListener } from '../src/session';

type Sent = { method: string; params: { command: string; arguments: unknown[] } };

/** A language client that records executeCommand requests and answers from `answers`. */
function fakeClient(answers: Record<string, unknown | Error>): ServerClient & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    code2ProtocolConverter: { asUri: (uri) => uri.toString() },
    async sendRequest<R>(method: string, params: unknown): Promise<R> {
      sent.push({ method, params: params as Sent['params'] });
      const answer = answers[(params as Sent['params']).command];
      if (answer instanceof Error) {
        throw answer;
      }
      return answer as R;
    },
  };
}

function recorder(): SessionListener & { events: unknown[][] } {
  const events: unknown[][] = [];
  return {
    events,
    start: (id) => events.push(['start', id]),
    step: (p: StepParams) => events.push(['step', p.sessionId, p.step]),
    end: (p: EndParams) => events.push(['end', p.sessionId, p.outcome]),
  };
}

function openEditor(path: string, version: number, line: number, character: number): vscode.TextEditor {
  const editor = new vscode.TextEditor({ uri: vscode.Uri.file(path), version }, new vscode.Position(line, character));
  vscode.window.activeTextEditor = editor;
  return editor;
}

function end(sessionId: string, uri: string, outcome: string, detail = ''): EndParams {
  return { sessionId, uri, outcome, detail, lines: 2, tracePath: '/t/s.jsonl', htmlPath: '/t/s.html' };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => vscode.reset());

test('generate sends vigor.generate with the active document, its version and the cursor', async () => {
  openEditor('/ws/task.py', 7, 8, 4);
  const client = fakeClient({ 'vigor.generate': { sessionId: 's1', anchor: 8 } });
  const listener = recorder();
  const commands = new Commands(() => client, listener);
  assert.deepEqual(await commands.generate(), { sessionId: 's1', anchor: 8 });
  assert.deepEqual(client.sent, [
    {
      method: 'workspace/executeCommand',
      params: {
        command: 'vigor.generate',
        arguments: [{ textDocument: { uri: 'file:///ws/task.py', version: 7 }, position: { line: 8, character: 4 } }],
      },
    },
  ]);
  assert.deepEqual(listener.events, [['start', 's1']]);
  assert.equal(commands.sessions.liveIn('file:///ws/task.py'), 's1');
});

test('generate with an instruction passes it; an empty instruction is left to the server', async () => {
  openEditor('/ws/task.py', 1, 0, 0);
  const client = fakeClient({ 'vigor.generate': { sessionId: 's1', anchor: 0 } });
  const commands = new Commands(() => client, recorder());
  vscode.window.input = '  sort the list  ';
  await commands.generateWithInstruction();
  vscode.window.input = '';
  await commands.generateWithInstruction();
  vscode.window.input = undefined; // the input box was dismissed: nothing is sent
  await commands.generateWithInstruction();
  const args = client.sent.map((s) => s.params.arguments[0] as { instruction?: string });
  assert.equal(args.length, 2);
  assert.equal(args[0].instruction, 'sort the list');
  assert.equal('instruction' in args[1], false);
});

test('generate without an editor or without a server says so and sends nothing', async () => {
  const client = fakeClient({});
  assert.equal(await new Commands(() => client, recorder()).generate(), undefined);
  openEditor('/ws/task.py', 1, 0, 0);
  assert.equal(await new Commands(() => undefined, recorder()).generate(), undefined);
  assert.equal(client.sent.length, 0);
  assert.deepEqual(
    vscode.window.messages.map(([kind]) => kind),
    ['info', 'error'],
  );
});

test('a refused generate (busy, no model) is shown as an error and starts nothing', async () => {
  openEditor('/ws/task.py', 1, 0, 0);
  const client = fakeClient({ 'vigor.generate': new Error('VIGOR is busy in this document (session s1)') });
  const listener = recorder();
  const commands = new Commands(() => client, listener);
  assert.equal(await commands.generate(), undefined);
  assert.deepEqual(vscode.window.messages, [['error', 'VIGOR: VIGOR is busy in this document (session s1)', []]]);
  assert.deepEqual(listener.events, []);
});

test('cancel targets the live session of the active document, or the session it is given', async () => {
  const client = fakeClient({ 'vigor.generate': { sessionId: 'sa', anchor: 0 }, 'vigor.cancel': { cancelled: true } });
  const commands = new Commands(() => client, recorder());
  openEditor('/ws/a.py', 1, 0, 0);
  await commands.generate();
  commands.sessions.started('sb', 'file:///ws/b.py'); // started later, in another document
  openEditor('/ws/a.py', 1, 0, 0);
  assert.equal(await commands.cancel(), true);
  assert.deepEqual(client.sent.at(-1)?.params, { command: 'vigor.cancel', arguments: [{ sessionId: 'sa' }] });
  // from the status bar: the session it shows
  assert.equal(await commands.cancel('sb'), true);
  assert.deepEqual(client.sent.at(-1)?.params, { command: 'vigor.cancel', arguments: [{ sessionId: 'sb' }] });
});

test('cancel in a document without a session stops the latest live one elsewhere', async () => {
  const client = fakeClient({ 'vigor.cancel': { cancelled: true } });
  const commands = new Commands(() => client, recorder());
  commands.sessions.started('s1', 'file:///ws/a.py');
  commands.sessions.started('s2', 'file:///ws/b.py');
  commands.onEnd(end('s2', 'file:///ws/b.py', 'completed'));
  openEditor('/ws/c.py', 1, 0, 0);
  await commands.cancel();
  assert.deepEqual(client.sent[0].params, { command: 'vigor.cancel', arguments: [{ sessionId: 's1' }] });
});

test('cancel with no session asks the server anyway and reports that nothing was running', async () => {
  const client = fakeClient({ 'vigor.cancel': { cancelled: false } });
  const commands = new Commands(() => client, recorder());
  assert.equal(await commands.cancel(), false);
  assert.deepEqual(client.sent[0].params, { command: 'vigor.cancel', arguments: [{}] });
  assert.deepEqual(vscode.window.messages, [['info', 'VIGOR: no session is running.', []]]);
});

test('openTrace asks for the latest session of the active document, else the latest', async () => {
  const client = fakeClient({ 'vigor.openTrace': '/ws/.vigor/traces/s1.html' });
  const commands = new Commands(() => client, recorder());
  commands.sessions.started('s1', 'file:///ws/a.py');
  commands.onEnd(end('s1', 'file:///ws/a.py', 'completed'));
  commands.sessions.started('s2', 'file:///ws/b.py');
  openEditor('/ws/a.py', 1, 0, 0);
  assert.equal(await commands.openTrace(), '/ws/.vigor/traces/s1.html');
  openEditor('/ws/c.py', 1, 0, 0);
  await commands.openTrace();
  await commands.openTrace('s9');
  assert.deepEqual(
    client.sent.map((s) => s.params),
    [
      { command: 'vigor.openTrace', arguments: [{ sessionId: 's1' }] },
      { command: 'vigor.openTrace', arguments: [{ sessionId: 's2' }] },
      { command: 'vigor.openTrace', arguments: [{ sessionId: 's9' }] },
    ],
  );
});

test('openTrace with no session at all lets the server answer, and shows its error', async () => {
  const client = fakeClient({ 'vigor.openTrace': new Error('no VIGOR session to show a trace for') });
  assert.equal(await new Commands(() => client, recorder()).openTrace(), undefined);
  assert.deepEqual(client.sent[0].params, { command: 'vigor.openTrace', arguments: [{}] });
  assert.deepEqual(vscode.window.messages, [['error', 'VIGOR: no VIGOR session to show a trace for', []]]);
});

test('step and end notifications reach the listener; an unhappy end offers the trace', async () => {
  const client = fakeClient({ 'vigor.openTrace': '/t/s1.html' });
  const listener = recorder();
  const ended: string[] = [];
  const commands = new Commands(() => client, listener, (p) => ended.push(p.uri));
  commands.sessions.started('s1', 'file:///ws/a.py');
  commands.onStep({ sessionId: 's1', uri: 'file:///ws/a.py', step: 0, line: 'x = 1', committed: 'x = 1', candidates: [] });
  commands.onEnd(end('s1', 'file:///ws/a.py', 'completed'));
  assert.deepEqual(vscode.window.messages, []); // a completed session is only shown in the status bar
  vscode.window.choice = 'Open Trace';
  commands.onEnd(end('s2', 'file:///ws/a.py', 'conflict', 'an edit touched the generated region'));
  await flush();
  assert.deepEqual(vscode.window.messages, [
    ['warning', 'VIGOR conflict after 2 line(s): an edit touched the generated region', ['Open Trace']],
  ]);
  assert.deepEqual(client.sent.map((s) => s.params), [{ command: 'vigor.openTrace', arguments: [{ sessionId: 's2' }] }]);
  assert.deepEqual(listener.events, [
    ['step', 's1', 0],
    ['end', 's1', 'completed'],
    ['end', 's2', 'conflict'],
  ]);
  assert.deepEqual(ended, ['file:///ws/a.py', 'file:///ws/a.py']);
  assert.equal(commands.sessions.liveIn('file:///ws/a.py'), undefined);
});
