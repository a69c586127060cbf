// Tiny DOM helpers for the instance view: element creation with attributes and children, and formatting.
// Styles are only ever set through the CSSOM (element.style), never as style attributes, to keep the CSP
// free of 'unsafe-inline'.

export type Child = Node | string | number | null | undefined | false;

export interface Attrs {
  class?: string;
  title?: string;
  /** Any other attribute; `true` sets it empty, `false`/`undefined` leaves it out. */
  [name: string]: string | number | boolean | undefined;
}

/** Creates an element: h('span', { class: 'chip' }, 'AVX2'). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs?: Attrs | null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined || value === false) continue;
      if (name === 'style') throw new TypeError('h(): set styles through element.style, not an attribute');
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/**
 * An inline SVG icon from a path (16×16 viewBox, codicon-like), coloured with currentColor; filled, or
 * stroked when the path is a line drawing.
 */
export function icon(pathD: string, cls = 'icon', stroke = false): SVGSVGElement {
  const NS = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('class', cls);
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(NS, 'path');
  p.setAttribute('d', pathD);
  if (stroke) {
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', 'currentColor');
    p.setAttribute('stroke-width', '1');
    p.setAttribute('stroke-linecap', 'round');
    p.setAttribute('stroke-linejoin', 'round');
  } else {
    p.setAttribute('fill', 'currentColor');
    p.setAttribute('fill-rule', 'evenodd');
  }
  svg.appendChild(p);
  return svg;
}

/** Paths of the few icons the view draws (shapes after VS Code's codicons, redrawn). */
export const ICONS = {
  check: 'M13.66 3.8l.9.9-8.06 8.06L1.44 7.7l.9-.9 4.16 4.16z',
  close: 'M8 7.1l3.6-3.6.9.9L8.9 8l3.6 3.6-.9.9L8 8.9l-3.6 3.6-.9-.9L7.1 8 3.5 4.4l.9-.9z',
  info: 'M8 1.5a6.5 6.5 0 100 13 6.5 6.5 0 000-13zM2.5 8a5.5 5.5 0 1111 0 5.5 5.5 0 01-11 0zM7.4 7h1.2v4.5H7.4zm0-2.5h1.2v1.2H7.4z',
  warning: 'M7.56 1.5h.88l6.5 12.27-.44.73H1.5l-.44-.73zM8 2.92L2.32 13.5h11.36zM7.4 6h1.2v4.5H7.4zm0 5.5h1.2v1.2H7.4z',
  error: 'M8 1.5a6.5 6.5 0 100 13 6.5 6.5 0 000-13zM2.5 8a5.5 5.5 0 1111 0 5.5 5.5 0 01-11 0zm3.1-3.2L8 7.2l2.4-2.4.8.8L8.8 8l2.4 2.4-.8.8L8 8.8l-2.4 2.4-.8-.8L7.2 8 4.8 5.6z',
  target: 'M8 1a7 7 0 100 14A7 7 0 008 1zm0 1.2a5.8 5.8 0 110 11.6A5.8 5.8 0 018 2.2zM8 4a4 4 0 100 8 4 4 0 000-8zm0 1.2a2.8 2.8 0 110 5.6 2.8 2.8 0 010-5.6zM8 6.8a1.2 1.2 0 100 2.4 1.2 1.2 0 000-2.4z',
  /** A CPU package: a line drawing (stroke it). */
  chip: 'M4.5 3.5h7a1 1 0 0 1 1 1v7a1 1 0 0 1-1 1h-7a1 1 0 0 1-1-1v-7a1 1 0 0 1 1-1zM6.5 6.5h3v3h-3zM6 1.5v2M8 1.5v2M10 1.5v2M6 12.5v2M8 12.5v2M10 12.5v2M1.5 6h2M1.5 8h2M1.5 10h2M12.5 6h2M12.5 8h2M12.5 10h2',
  arrowUp: 'M8 3.3l4.4 4.4-.8.8L8.6 5.5V13H7.4V5.5l-3 3-.8-.8z',
  arrowDown: 'M8 12.7l4.4-4.4-.8-.8-3 3V3H7.4v7.5l-3-3-.8.8z',
};

const intFormat = new Intl.NumberFormat('en-US');

export function formatInt(n: number): string {
  return intFormat.format(n);
}

export function formatGiB(gib: number): string {
  return `${Number.isInteger(gib) ? formatInt(gib) : gib.toFixed(gib < 1 ? 2 : 1).replace(/\.?0+$/, '')} GiB`;
}

export function formatPercent(part: number, whole: number): string {
  if (whole <= 0) return '0 %';
  const p = (100 * part) / whole;
  return `${p < 10 ? p.toFixed(1) : Math.round(p)} %`;
}

/** The last path component, for module paths in tight places. */
export function basename(p: string): string {
  const i = p.lastIndexOf('/');
  return i >= 0 ? p.slice(i + 1) : p;
}
