import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import * as vscode from './mock/vscode';
import { LanguageClient } from './mock/languageclient';
import { activate, deactivate } from '../src/extension';

const UI_COMMANDS = ['vigor.ui.generate', 'vigor.ui.generateWithInstruction', 'vigor.ui.cancel', 'vigor.ui.openTrace', 'vigor.ui.restartServer'];

const context = () => ({ subscriptions: [] as { dispose(): unknown }[] }) as never;
const flush = () => new Promise((resolve) => setImmediate(resolve));

function latestClient(): LanguageClient {
  return LanguageClient.instances[LanguageClient.instances.length - 1];
}

beforeEach(() => {
  vscode.reset();
  LanguageClient.instances = [];
  LanguageClient.failStart = false;
  vscode.workspace.settings = {
    'vigor.server.pythonPath': '/venv/bin/python',
    'vigor.baseUrl': 'http://127.0.0.1:11434/v1',
    'vigor.model': 'qwen2.5-coder:1.5b',
    'vigor.apiKeyEnv': 'OLLAMA_KEY',
    'vigor.timeoutS': null,
    'vigor.undo.mergeSession': true,
  };
});

afterEach(() => deactivate());

test('activate starts `python -m vigor_lsp` with the settings and registers the UI commands', async () => {
  await activate(context());
  assert.equal(LanguageClient.instances.length, 1);
  const client = latestClient();
  assert.equal(client.state, 'running');
  assert.deepEqual(client.serverOptions, { command: '/venv/bin/python', args: ['-m', 'vigor_lsp'], transport: 0 });
  assert.deepEqual(client.clientOptions.initializationOptions, {
    vigor: { baseUrl: 'http://127.0.0.1:11434/v1', model: 'qwen2.5-coder:1.5b', apiKeyEnv: 'OLLAMA_KEY' },
  });
  assert.deepEqual(client.clientOptions.documentSelector, [{ scheme: 'file', language: 'python' }]);
  assert.deepEqual([...vscode.commands.registered.keys()].sort(), [...UI_COMMANDS].sort());
  assert.deepEqual([...client.notifications.keys()].sort(), ['vigor/end', 'vigor/step']);
  // the undo-merging applyEdit handler replaces the client's own, so it is installed once running
  assert.deepEqual([...client.requests.keys()], ['workspace/applyEdit']);
});

test("the server's workspace/configuration for `vigor` is answered with the mapped settings", async () => {
  await activate(context());
  const middleware = latestClient().clientOptions.middleware as {
    workspace: { configuration(params: unknown, token: unknown, next: (p: unknown, t: unknown) => unknown): Promise<unknown> };
  };
  const raw = [{ server: { command: [] }, baseUrl: 'raw' }, { other: 1 }];
  const answer = await middleware.workspace.configuration({ items: [{ section: 'vigor' }, { section: 'other' }] }, undefined, () => raw);
  assert.deepEqual(answer, [
    { baseUrl: 'http://127.0.0.1:11434/v1', model: 'qwen2.5-coder:1.5b', apiKeyEnv: 'OLLAMA_KEY' },
    { other: 1 },
  ]);
});

test('a settings change is pushed to the server; a server command change restarts it', async () => {
  await activate(context());
  const first = latestClient();
  const [listener] = vscode.workspace.configurationListeners;
  vscode.workspace.settings['vigor.candidates'] = 5;
  await listener({ affectsConfiguration: (section) => section === 'vigor' });
  assert.deepEqual(first.notified, [
    [
      'workspace/didChangeConfiguration',
      {
        settings: {
          vigor: { baseUrl: 'http://127.0.0.1:11434/v1', model: 'qwen2.5-coder:1.5b', apiKeyEnv: 'OLLAMA_KEY', candidates: 5 },
        },
      },
    ],
  ]);
  vscode.workspace.settings['vigor.server.command'] = ['/opt/bin/vigor-lsp'];
  await listener({ affectsConfiguration: (section) => section === 'vigor' || section === 'vigor.server' });
  await flush();
  assert.equal(first.state, 'stopped');
  assert.equal(LanguageClient.instances.length, 2);
  assert.deepEqual(latestClient().serverOptions, { command: '/opt/bin/vigor-lsp', args: [], transport: 0 });
  assert.equal(latestClient().state, 'running');
});

test('the UI commands drive the server and the status bar follows its notifications', async () => {
  await activate(context());
  const client = latestClient();
  client.answers = { 'vigor.generate': { sessionId: 's1', anchor: 8 }, 'vigor.cancel': { cancelled: true } };
  const editor = new vscode.TextEditor({ uri: vscode.Uri.file('/ws/task.py'), version: 4 }, new vscode.Position(8, 0));
  vscode.window.activeTextEditor = editor;
  await vscode.commands.registered.get('vigor.ui.generate')!();
  assert.deepEqual(client.sent[0], [
    'workspace/executeCommand',
    { command: 'vigor.generate', arguments: [{ textDocument: { uri: 'file:///ws/task.py', version: 4 }, position: { line: 8, character: 0 } }] },
  ]);
  const item = vscode.window.items[0];
  assert.equal(item.text, '$(sync~spin) VIGOR step 0 · 0 lines');
  const step = client.notifications.get('vigor/step') as (p: unknown) => void;
  step({ sessionId: 's1', uri: 'file:///ws/task.py', step: 0, line: '    total = 0.0', committed: '    total = 0.0', candidates: [] });
  assert.equal(item.text, '$(sync~spin) VIGOR step 1 · 1 line');
  // the stop action of the status bar
  const stop = item.command as { command: string; arguments: unknown[] };
  await vscode.commands.registered.get(stop.command)!(...stop.arguments);
  assert.deepEqual(client.sent[1], ['workspace/executeCommand', { command: 'vigor.cancel', arguments: [{ sessionId: 's1' }] }]);
  const end = client.notifications.get('vigor/end') as (p: unknown) => void;
  end({ sessionId: 's1', uri: 'file:///ws/task.py', outcome: 'cancelled', detail: '', lines: 1, tracePath: '/t.jsonl', htmlPath: '/t.html' });
  assert.equal(item.text, '$(circle-slash) VIGOR cancelled · 1 line');
  assert.deepEqual(vscode.window.messages, []);
});

test('deactivate stops the client', async () => {
  await activate(context());
  await deactivate();
  assert.equal(latestClient().state, 'stopped');
});

test('a server that does not start is reported with its command line, and a restart can recover', async () => {
  LanguageClient.failStart = true;
  await activate(context());
  assert.equal(vscode.window.messages.length, 1);
  const [kind, text] = vscode.window.messages[0];
  assert.equal(kind, 'error');
  assert.match(text, /could not start the language server \(\/venv\/bin\/python -m vigor_lsp\): Error: the server exited/);
  // the UI commands say the server is not running
  vscode.window.activeTextEditor = new vscode.TextEditor({ uri: vscode.Uri.file('/ws/task.py'), version: 1 });
  await vscode.commands.registered.get('vigor.ui.generate')!();
  assert.match(vscode.window.messages[1][1], /not running/);
  LanguageClient.failStart = false;
  await vscode.commands.registered.get('vigor.ui.restartServer')!();
  assert.equal(latestClient().state, 'running');
});

test('removing a setting restarts the server, which would otherwise keep its initial value', async () => {
  await activate(context());
  const first = latestClient();
  const [listener] = vscode.workspace.configurationListeners;
  vscode.workspace.settings['vigor.model'] = null;
  await listener({ affectsConfiguration: (section) => section === 'vigor' });
  await flush();
  assert.deepEqual(first.notified, []);
  assert.equal(first.state, 'stopped');
  assert.deepEqual(latestClient().clientOptions.initializationOptions, {
    vigor: { baseUrl: 'http://127.0.0.1:11434/v1', apiKeyEnv: 'OLLAMA_KEY' },
  });
});

test('changes to other extensions settings are ignored', async () => {
  await activate(context());
  const [listener] = vscode.workspace.configurationListeners;
  await listener({ affectsConfiguration: (section) => section === 'python' });
  assert.deepEqual(latestClient().notified, []);
  assert.equal(LanguageClient.instances.length, 1);
});

test('restarts are serialised: two quick restarts leave exactly one running server', async () => {
  await activate(context());
  const restart = vscode.commands.registered.get('vigor.ui.restartServer')!;
  await Promise.all([restart(), restart(), restart()]);
  await flush();
  const running = LanguageClient.instances.filter((c) => c.state === 'running');
  assert.equal(running.length, 1, `${running.length} servers running`);
  assert.equal(running[0], latestClient());
  // the second and third restart ask for one more restart after the first, not two
  assert.equal(LanguageClient.instances.length, 3);
});
