// The test-only E2E query messages of the instance view's protocol (webview/src/messages.ts): the guards
// accept well-formed questions and answers and refuse malformed ones, like every other message.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { E2E_SELECTOR_MAX, isHostMessage, isWebviewMessage } from '../../webview/src/messages';

test('e2eQuery: well-formed questions pass the host-message guard', () => {
  for (const op of ['text', 'click', 'count']) assert.ok(isHostMessage({ type: 'e2eQuery', id: 0, op, selector: '#compatible-count' }), op);
  assert.ok(isHostMessage({ type: 'e2eQuery', id: 7, op: 'count', selector: 'x'.repeat(E2E_SELECTOR_MAX) }));
});

test('e2eQuery: malformed questions are refused', () => {
  const ok = { type: 'e2eQuery', id: 1, op: 'text', selector: '#a' };
  assert.ok(!isHostMessage({ ...ok, op: 'eval' }));
  assert.ok(!isHostMessage({ ...ok, id: -1 }));
  assert.ok(!isHostMessage({ ...ok, id: 1.5 }));
  assert.ok(!isHostMessage({ ...ok, id: '1' }));
  assert.ok(!isHostMessage({ ...ok, selector: '' }));
  assert.ok(!isHostMessage({ ...ok, selector: 'x'.repeat(E2E_SELECTOR_MAX + 1) }));
  assert.ok(!isHostMessage({ ...ok, selector: 42 }));
});

test('e2eAnswer: answers pass the webview-message guard, malformed ones do not', () => {
  assert.ok(isWebviewMessage({ type: 'e2eAnswer', id: 3, text: '383 types' }));
  assert.ok(isWebviewMessage({ type: 'e2eAnswer', id: 3, count: 383 }));
  assert.ok(isWebviewMessage({ type: 'e2eAnswer', id: 3, error: 'no element matches #x' }));
  assert.ok(!isWebviewMessage({ type: 'e2eAnswer', id: 3, count: -1 }));
  assert.ok(!isWebviewMessage({ type: 'e2eAnswer', id: 3, count: 2.5 }));
  assert.ok(!isWebviewMessage({ type: 'e2eAnswer', id: 3, text: 5 }));
  assert.ok(!isWebviewMessage({ type: 'e2eAnswer', text: 'x' }));
});
