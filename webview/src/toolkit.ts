// The one module that touches @vscode/webview-ui-toolkit: registers only the components the instance view
// uses, so the bundle carries nothing else and the rest of the UI stays plain TypeScript + DOM.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDropdown,
  vsCodeOption,
  vsCodePanels,
  vsCodePanelTab,
  vsCodePanelView,
  vsCodeProgressRing,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';

// Not registered, on purpose:
// - vscode-data-grid. With the fixture's 383 rows it builds ~3,800 custom elements, each with a shadow
//   root; measured in Chromium 156 on the 2-core dev machine (under load) it took ~150 ms to render and
//   540–960 ms to re-render after a sort. grid.ts's rows of plain elements with `content-visibility: auto`
//   re-sort in ~6 ms (median, layout included), so the grid is plain DOM coloured by the same
//   --vscode-* variables, and the toolkit supplies the controls around it.
// - vscode-badge and vscode-tag. Their (shared) template binds an inline `style` attribute, which the
//   view's CSP (no 'unsafe-inline') blocks and reports as a violation; the counts and origin tags are
//   styled spans instead.

let registered = false;

/** Registers the toolkit components once; safe to call again. */
export function registerToolkit(): void {
  if (registered) return;
  registered = true;
  provideVSCodeDesignSystem().register(
    vsCodeButton(),
    vsCodeCheckbox(),
    vsCodeDropdown(),
    vsCodeOption(),
    vsCodePanels(),
    vsCodePanelTab(),
    vsCodePanelView(),
    vsCodeProgressRing(),
    vsCodeTextField(),
  );
}

/** The element types the UI reads values from (the toolkit's classes, typed just as much as we use). */
export interface ToolkitValueElement extends HTMLElement {
  value: string;
}
export interface ToolkitCheckboxElement extends HTMLElement {
  checked: boolean;
  disabled: boolean;
}
