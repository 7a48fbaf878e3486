// The packaged bundle (out/extension.js, built by esbuild with vscode-languageclient inside) loads with
// nothing but `vscode` and node's own modules, and exports the extension's entry points.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

const BUNDLE = join(__dirname, '..', '..', 'out', 'extension.js');

/** A `vscode` where every name exists: a class, a function and a namespace at once. */
function anything(): unknown {
  const names = new Map<string | symbol, unknown>();
  const target = function () {};
  return new Proxy(target, {
    get(t, name) {
      if (name === 'prototype' || typeof name === 'symbol') {
        return Reflect.get(t, name);
      }
      if (name === 'then') {
        return undefined; // not a promise
      }
      if (!names.has(name)) {
        names.set(name, anything());
      }
      return names.get(name);
    },
    construct: () => ({}),
    apply: () => undefined,
  });
}

test('the bundle requires only vscode and node built-ins', () => {
  const required = new Set([...readFileSync(BUNDLE, 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
  const foreign = [...required].filter((name) => name !== 'vscode' && !Module.isBuiltin(name));
  assert.deepEqual(foreign, []);
});

test('the bundle loads and exports activate and deactivate', () => {
  const api = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = api._resolveFilename;
  api._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]) {
    return request === 'vscode' ? '/mock/vscode.js' : resolve.call(this, request, ...rest);
  };
  const vscode = new Module('/mock/vscode.js');
  vscode.exports = anything();
  vscode.loaded = true;
  require.cache['/mock/vscode.js'] = vscode;
  const extension = require(BUNDLE);
  assert.equal(typeof extension.activate, 'function');
  assert.equal(typeof extension.deactivate, 'function');
});
