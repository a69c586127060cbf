// The webview side of VS Code's host bridge: the typed `acquireVsCodeApi()` handle the view posts through
// and persists its state with.

import type { WebviewMessage } from './messages';

export interface VsCodeApi<S> {
  postMessage(message: WebviewMessage): void;
  getState(): S | undefined;
  setState(state: S): S;
}

declare function acquireVsCodeApi(): VsCodeApi<unknown>;

/** Acquires the API (VS Code allows this once per page load). */
export function getVsCodeApi<S>(): VsCodeApi<S> {
  return acquireVsCodeApi() as VsCodeApi<S>;
}
