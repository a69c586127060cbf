// Test only: answers the E2E suite's questions about the view's DOM (`e2eQuery` → `e2eAnswer`), so tests that
// run in the extension host (@vscode/test-electron), which cannot reach a webview's DOM, can read and click it.

import type { E2eQuery, WebviewMessage } from './messages';

/** Reads, clicks or counts the elements matching the query's selector; never throws (errors are answers). */
export function answerE2eQuery(query: E2eQuery, doc: Document): WebviewMessage {
  try {
    if (query.op === 'count') return { type: 'e2eAnswer', id: query.id, count: doc.querySelectorAll(query.selector).length };
    const el = doc.querySelector(query.selector);
    if (!el) return { type: 'e2eAnswer', id: query.id, error: `no element matches ${query.selector}` };
    if (query.op === 'click') (el as HTMLElement).click();
    return { type: 'e2eAnswer', id: query.id, text: el.textContent ?? '' };
  } catch (e) {
    // An invalid selector throws a SyntaxError from querySelector.
    return { type: 'e2eAnswer', id: query.id, error: e instanceof Error ? e.message : String(e) };
  }
}
