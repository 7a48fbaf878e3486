import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serverCommand, serverSettings, type ConfigReader } from '../src/settings';

function reader(values: Record<string, unknown>): ConfigReader {
  return { get: <T>(key: string) => values[key] as T | undefined };
}

test('serverSettings passes the server keys that have a value and drops the rest', () => {
  const settings = serverSettings(
    reader({
      baseUrl: 'http://127.0.0.1:8080/v1',
      model: 'local',
      apiKeyEnv: 'LLAMA_KEY',
      candidates: 3,
      runPolicy: { maxSteps: 12 },
      sandbox: { exampleTimeoutS: 0.5 },
      localModel: false,
      confirmTimeoutS: 1,
      timeoutS: null, // unset in VS Code: the server's default applies
      model2: 'not a server key',
      'server.command': ['vigor-lsp'],
      'undo.mergeSession': true,
    }),
  );
  assert.deepEqual(settings, {
    baseUrl: 'http://127.0.0.1:8080/v1',
    model: 'local',
    apiKeyEnv: 'LLAMA_KEY',
    candidates: 3,
    runPolicy: { maxSteps: 12 },
    sandbox: { exampleTimeoutS: 0.5 },
    localModel: false,
    confirmTimeoutS: 1,
  });
});

test('serverSettings of an untouched configuration is empty apart from the contributed defaults', () => {
  assert.deepEqual(serverSettings(reader({ baseUrl: null, model: '', apiKeyEnv: 'OPENAI_API_KEY', localModel: true })), {
    apiKeyEnv: 'OPENAI_API_KEY',
    localModel: true,
  });
});

test('serverCommand prefers the explicit command line', () => {
  const vigor = reader({ 'server.command': ['/opt/vigor/bin/vigor-lsp', '--log-level', 'INFO'], 'server.pythonPath': '/usr/bin/python3' });
  assert.deepEqual(serverCommand(vigor, undefined, 'linux'), {
    command: '/opt/vigor/bin/vigor-lsp',
    args: ['--log-level', 'INFO'],
  });
});

test('serverCommand runs the module with the configured interpreter, then the Python extension one', () => {
  const python = reader({ defaultInterpreterPath: '/venv/bin/python' });
  assert.deepEqual(serverCommand(reader({ 'server.pythonPath': '/usr/bin/python3.12' }), python), {
    command: '/usr/bin/python3.12',
    args: ['-m', 'vigor_lsp'],
  });
  assert.deepEqual(serverCommand(reader({ 'server.command': [] }), python), {
    command: '/venv/bin/python',
    args: ['-m', 'vigor_lsp'],
  });
});

test('serverCommand falls back to the platform interpreter name', () => {
  assert.equal(serverCommand(reader({}), undefined, 'linux').command, 'python3');
  assert.equal(serverCommand(reader({}), reader({}), 'win32').command, 'python');
});
