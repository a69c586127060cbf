// The instance view's HTML document with its Content-Security-Policy, as a pure function the extension host
// (and the tests) call; no DOM and no Node APIs, so it can be imported on either side.

export interface WebviewHtmlOptions {
  /** `webview.cspSource`: the origin the webview may load its own files from. */
  cspSource: string;
  /** A fresh random nonce per render (see createNonce). */
  nonce: string;
  /** `webview.asWebviewUri` of dist/webview.js and dist/webview.css. */
  scriptUri: string;
  styleUri: string;
  /** The document title (not shown by VS Code, read by screen readers). */
  title?: string;
}

const NONCE = /^[A-Za-z0-9+/=_-]{16,}$/;

/**
 * The CSP: nothing by default; scripts only with the nonce; styles, fonts and images only from the
 * webview's own resource origin (images also as data: URIs).
 *
 * No 'unsafe-inline' for styles: the toolkit's components style their shadow roots with constructable
 * stylesheets (adoptedStyleSheets) and set design tokens through the CSSOM, neither of which CSP's
 * style-src governs, and our own code only writes styles through the CSSOM too. The one <style> element
 * is FAST's probe for :focus-visible support (fast-web-utilities canUseFocusVisible), which takes its
 * nonce from <meta property="csp-nonce">; so style-src also allows the nonce, and without it the probe
 * is blocked (a CSP violation) and the controls fall back to :focus rings. The Chromium test records
 * securitypolicyviolation events and fails on any.
 */
/** One CSP source expression: a keyword such as 'self', a scheme (`https:`), or a host source with no separators. */
function isCspSource(token: string): boolean {
  return /^'(self|none)'$/.test(token) || /^[a-z][a-z0-9+.-]*:$/i.test(token) || /^([a-z][a-z0-9+.-]*:\/\/)?[a-z0-9*._~%+-]+(:(\d+|\*))?(\/[^\s;,'"]*)?$/i.test(token);
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `img-src ${cspSource} data:`,
  ].join('; ');
}

function escapeAttribute(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The panel's whole HTML document. Throws a TypeError on a nonce that is too short or not base64-like. */
export function renderWebviewHtml(options: WebviewHtmlOptions): string {
  const { cspSource, nonce, scriptUri, styleUri } = options;
  if (!NONCE.test(nonce)) throw new TypeError('renderWebviewHtml: the nonce must be 16+ base64 characters');
  // VS Code desktop gives one origin; code-server and VS Code for the Web give a list such as
  // `'self' https://*.vscode-cdn.net`. Accept a space-separated list of CSP source expressions, nothing else.
  const sources = cspSource.trim().split(/\s+/);
  if (cspSource.trim().length === 0 || !sources.every(isCspSource)) {
    throw new TypeError(`renderWebviewHtml: unexpected cspSource ${JSON.stringify(cspSource)}`);
  }
  const csp = escapeAttribute(contentSecurityPolicy(cspSource, nonce));
  const title = escapeAttribute(options.title ?? 'Pygration: migration targets');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${escapeAttribute(nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeAttribute(styleUri)}">
<title>${title}</title>
</head>
<body>
<main id="app" aria-live="polite"></main>
<script nonce="${escapeAttribute(nonce)}" src="${escapeAttribute(scriptUri)}"></script>
</body>
</html>
`;
}

/** 32 random base64url characters from the platform's CSPRNG (Web Crypto exists in Node ≥ 19 and browsers). */
export function createNonce(): string {
  const bytes = new Uint8Array(24);
  globalThis.crypto.getRandomValues(bytes);
  let s = '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // 24 bytes = 192 bits = 32 six-bit characters.
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    s += alphabet[(n >> 18) & 63] + alphabet[(n >> 12) & 63] + alphabet[(n >> 6) & 63] + alphabet[n & 63];
  }
  return s;
}
