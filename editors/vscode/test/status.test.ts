import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import * as vscode from './mock/vscode';
import type { EndParams, StepParams } from '../src/protocol';
import { StatusBar, StatusModel } from '../src/status';

function step(sessionId: string, n: number, line: string | null): StepParams {
  return { sessionId, uri: 'file:///t.py', step: n, line, committed: line, candidates: [] };
}

function end(sessionId: string, outcome: string, lines: number, detail = ''): EndParams {
  return { sessionId, uri: 'file:///t.py', outcome, detail, lines, tracePath: '/t.jsonl', htmlPath: '/t.html' };
}

beforeEach(() => vscode.reset());

test('the status is hidden before any session', () => {
  assert.equal(new StatusModel().view().visible, false);
});

test('steps show the live step count, the lines written and a stop action for that session', () => {
  const model = new StatusModel();
  model.start('s1');
  assert.equal(model.view().text, '$(sync~spin) VIGOR step 0 · 0 lines');
  model.step(step('s1', 0, '    total = 0.0'));
  model.step(step('s1', 1, null));
  model.step(step('s1', 2, '    return total'));
  const view = model.view();
  assert.equal(view.text, '$(sync~spin) VIGOR step 3 · 2 lines');
  assert.match(view.tooltip, /committed "    return total".*Click to stop/);
  assert.deepEqual(view.command, { title: 'Stop', command: 'vigor.ui.cancel', arguments: ['s1'] });
  assert.equal(model.running, 's1');
});

test('the end shows the outcome and offers the trace', () => {
  const model = new StatusModel();
  model.start('s1');
  model.step(step('s1', 0, 'x = 1'));
  model.end(end('s1', 'completed', 1));
  const view = model.view();
  assert.equal(view.text, '$(check) VIGOR completed · 1 line');
  assert.deepEqual(view.command, { title: 'Open Trace', command: 'vigor.ui.openTrace', arguments: ['s1'] });
  assert.equal(model.running, undefined);
  model.end(end('s2', 'conflict', 0, 'an edit at line 3 touched the generated region'));
  assert.equal(model.view().text, '$(warning) VIGOR conflict · 0 lines');
  assert.match(model.view().tooltip, /^an edit at line 3/);
});

test('an end that arrives before the start keeps the session ended', () => {
  const model = new StatusModel();
  model.end(end('s1', 'error', 0, 'no model'));
  model.start('s1');
  model.step(step('s1', 0, 'late'));
  assert.equal(model.running, undefined);
  assert.equal(model.view().text, '$(warning) VIGOR error · 0 lines');
});

test('with two live sessions the latest is shown and the other counted', () => {
  const model = new StatusModel();
  model.start('s1');
  model.start('s2');
  model.step(step('s2', 4, 'y = 2'));
  assert.equal(model.view().text, '$(sync~spin) VIGOR step 5 · 1 line (+1)');
  model.end(end('s2', 'cancelled', 1));
  assert.equal(model.view().text, '$(sync~spin) VIGOR step 0 · 0 lines');
  assert.equal(model.running, 's1');
});

test('StatusBar copies the view onto the status-bar item', () => {
  const bar = new StatusBar();
  const item = vscode.window.items[0];
  assert.equal(item.shown, false);
  bar.start('s1');
  bar.step(step('s1', 0, 'a = 1'));
  assert.equal(item.shown, true);
  assert.equal(item.text, '$(sync~spin) VIGOR step 1 · 1 line');
  assert.deepEqual(item.command, { title: 'Stop', command: 'vigor.ui.cancel', arguments: ['s1'] });
  bar.end(end('s1', 'cancelled', 1));
  assert.equal(item.text, '$(circle-slash) VIGOR cancelled · 1 line');
  bar.dispose();
  assert.equal(item.disposed, true);
});

test('finished code that fails its examples says so, never just "completed"', () => {
  const model = new StatusModel();
  model.end({ ...end('s1', 'failed_examples', 2, 'the code fails 1 of 2 example(s): add(1, 2)'), examples: { ran: 2, passed: 1, failed: 1 } });
  const view = model.view();
  assert.equal(view.text, '$(warning) VIGOR fails 1 of 2 examples · 2 lines');
  assert.match(view.tooltip, /add\(1, 2\)/);
  model.end({ ...end('s2', 'completed', 2), examples: { ran: 2, passed: 2, failed: 0 } });
  assert.equal(model.view().text, '$(check) VIGOR completed · 2/2 examples pass · 2 lines');
});
