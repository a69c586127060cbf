// The names the E2E helper extension contributes, shared by the extension and the tests that drive it
// (no vscode import here, so plain Node tests can load it).

export const HELPER_EXTENSION_ID = 'pygration-test.pygration-e2e-helper';

/** Command ids and their palette titles (`category: title` from the helper's package.json). */
export const HELPER_COMMANDS = {
  ping: { id: 'pygrationE2E.ping', title: 'Pygration E2E: Ping' },
  showWebview: { id: 'pygrationE2E.showWebview', title: 'Pygration E2E: Show Test Webview' },
  /** Run by the code lenses (not in the palette). */
  lensClicked: { id: 'pygrationE2E.lensClicked', title: '' },
  /** Test-only bridge to the webview's DOM for the extension-host driver: (op: 'text'|'click'|'count', selector) → textContent or count. */
  webviewBridge: { id: 'pygrationE2E.webviewBridge', title: '' },
} as const;

export const HELPER_OUTPUT_CHANNEL = 'Pygration E2E';
export const HELPER_WEBVIEW_TITLE = 'E2E Test View';
export const HELPER_STATUS_ITEM_ID = 'pygrationE2E.status';
