// A static requirement with unknown call sites (or unknown native callees behind a call) is a lower bound:
// the status bar, the lens titles, the hovers and the instance view's focus say "at least …; N unknown" and
// never give a compatibility verdict for it. Pure functions, on data shaped like the server's.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { focusFromCallSite, isCallSiteDetail } from '../../client/src/logic/report';
import { formatStatus, lowerBoundText } from '../../client/src/logic/status';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import type { Feature } from '../../native/src/features/vocabulary';
import type { CallSiteAnalysis } from '../../server/src/model';
import { callSiteDetail, catalogRarity, computeHover, lensTitle } from '../../server/src/presentation';
import type { StaticSummary } from '../../server/src/protocol';
import { isFocusCallSite } from '../../webview/src/messages';

const rarity = catalogRarity(defaultCatalog());

const verdict: StaticSummary = { files: 2, callSites: 11, resolved: 11, required: ['avx2', 'fma', 'avx'], level: 'x86-64-v3', compatible: 250, total: 383, unknownCallSites: 0, lowerBound: false };
const bound: StaticSummary = { ...verdict, resolved: 7, unknownCallSites: 4, lowerBound: true };

test('status bar: a static lower bound says "at least" and how many call sites are unknown, never "migratable to"', () => {
  const s = formatStatus({ state: { mode: 'ept', static: bound }, server: 'running' });
  assert.equal(s.text, `$(chip) ${lowerBoundText('x86-64-v3', 3, 4)}`);
  assert.equal(s.text, '$(chip) at least x86-64-v3 · 3 features · 4 call sites unknown');
  assert.doesNotMatch(s.text, /migratable/);
  assert.match(s.tooltip, /Required: \*\*at least x86-64-v3\*\*/);
  assert.match(s.tooltip, /Not a verdict: could be migratable to at most 250 of 383 instance types/);
  assert.doesNotMatch(s.tooltip, /Migratable to \*\*/);
  assert.match(s.accessibleText, /at least x86-64-v3/);
  // One unknown call site reads in the singular; an error keeps the bound.
  assert.match(formatStatus({ state: { mode: 'ept', static: { ...bound, unknownCallSites: 1 } }, server: 'running' }).text, / · 1 call site unknown$/);
  assert.match(formatStatus({ state: { mode: 'ept', static: bound, error: 'x' }, server: 'running' }).text, /^\$\(warning\) at least x86-64-v3/);
  // Without unknown call sites the static result is a verdict, as before.
  assert.equal(formatStatus({ state: { mode: 'ept', static: verdict }, server: 'running' }).text, '$(chip) x86-64-v3 · 3 features · migratable to 250/383');
});

test('status bar: with a live report, the workspace line of the tooltip keeps the static bound', () => {
  const report = { level: 'x86-64-v4', required: ['avx512f'], instances: { compatible: ['a'], criu: [], total: 383, catalog: 'AWS' }, mode: 'ept', stats: { seconds: 1 }, target: { ldBindNow: true } };
  const live = { pid: 1, label: 'p', analyzedAt: '2026-12-04T00:00:00Z', report } as never;
  const s = formatStatus({ state: { mode: 'ept', static: bound, live }, server: 'running' });
  assert.match(s.tooltip, /Workspace \(static\): at least x86-64-v3, 3 features; 4 call sites unknown\./);
  assert.doesNotMatch(s.tooltip, /250\/383/);
});

function site(features: Feature[], extra: Partial<CallSiteAnalysis> = {}): CallSiteAnalysis {
  return {
    uri: 'file:///w/app.py',
    range: { line: 3, character: 0, endLine: 3, endCharacter: 10 },
    callee: 'mod.f',
    qualifiedName: 'mod.f',
    natives: [{ symbol: 'f_impl', library: 'mod.so', exact: false }],
    features,
    provenance: [],
    origin: 'static',
    ...extra,
  };
}

test('lens, hover and detail: a call with unknown native callees needs "at least" its features', () => {
  const partial = site(['sha_ni', 'avx2'], { unknownCallees: 2, reason: '2 of 3 native callee(s) not resolved: x' });
  const title = lensTitle(partial, rarity);
  assert.match(title, /^\$\(chip\) at least SHA-NI · AVX2 \(2 native callees unknown\) — mod\.f → f_impl \(mod\)$/);
  const hover = computeHover(partial, rarity).contents as { value: string };
  assert.match(hover.value, /\*\*At least\*\* the features below: 2 native callees unknown/);
  assert.equal(callSiteDetail(partial, rarity).unknownCallees, 2);

  // Only baseline code resolved: no "every instance type can run it".
  const baseline = site([], { unknownCallees: 1 });
  assert.match(lensTitle(baseline, rarity), /at least the x86-64 baseline \(1 native callee unknown\)/);
  const bHover = (computeHover(baseline, rarity).contents as { value: string }).value;
  assert.doesNotMatch(bHover, /every instance type can run it/);
  assert.match(bHover, /The resolved native code needs nothing beyond the x86-64 baseline/);

  // A wholly unknown call says its features are unknown and what that means for the program.
  const unknown = site([], { natives: [], origin: 'unknown', reason: 'result of calling getattr(…)', unknownCallees: 1 });
  assert.match((computeHover(unknown, rarity).contents as { value: string }).value, /a static requirement of the program is a lower bound, not a verdict/);

  // Fully resolved: no bound.
  const full = site(['avx2']);
  assert.doesNotMatch(lensTitle(full, rarity), /at least/);
  assert.equal(callSiteDetail(full, rarity).unknownCallees, undefined);
  assert.match((computeHover(site([]), rarity).contents as { value: string }).value, /every instance type can run it/);
});

test('instance view focus: unknownCallees crosses from the lens to the view, checked on both sides', () => {
  const detail = callSiteDetail(site(['sha_ni'], { unknownCallees: 1 }), rarity);
  assert.ok(isCallSiteDetail(detail));
  assert.ok(!isCallSiteDetail({ ...detail, unknownCallees: -1 }));
  assert.ok(!isCallSiteDetail({ ...detail, unknownCallees: 'two' }));
  const focus = focusFromCallSite(detail);
  assert.equal(focus.unknownCallees, 1);
  assert.ok(isFocusCallSite(focus));
  assert.ok(!isFocusCallSite({ ...focus, unknownCallees: 1.5 }));
  const unknown = focusFromCallSite(callSiteDetail(site([], { natives: [], origin: 'unknown', unknownCallees: 1 }), rarity));
  assert.equal(unknown.unknownCallees, 1);
  assert.equal(unknown.kind, undefined);
  assert.equal(focusFromCallSite(callSiteDetail(site(['avx2']), rarity)).unknownCallees, undefined);
});
