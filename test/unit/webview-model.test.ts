// The instance view's DOM-free parts under Node: the HTML/CSP builder the extension host uses, the
// host↔webview message guards, and the grid model (sorting, filtering, search, focus, persisted state).

import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AnalysisReport } from '../../native/src/report';
import { FEATURES, featureLabel } from '../../native/src/features/vocabulary';
import { contentSecurityPolicy, createNonce, renderWebviewHtml } from '../../webview/src/html';
import { isHostMessage, isWebviewMessage, type FocusCallSite } from '../../webview/src/messages';
import {
  buildRows,
  DEFAULT_UI,
  displayOrder,
  familyCounts,
  filterRows,
  ruledOutBy,
  sanitizeUi,
  sizeRank,
  sortRows,
} from '../../webview/src/model';
import { REPO_ROOT } from '../helpers/fixtures';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'report');
const report = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'numpy-matmul.live.json'), 'utf8')) as AnalysisReport;
const focus = (JSON.parse(fs.readFileSync(path.join(FIXTURES, 'numpy-matmul.focus.json'), 'utf8')) as { callSite: FocusCallSite }).callSite;
const verdicts = report.instances.verdicts;
const rows = buildRows(verdicts, featureLabel);
const ALL = { search: '', compatibleOnly: false, family: '', vendor: '' as const };

describe('renderWebviewHtml', () => {
  const cspSource = 'https://file+.vscode-resource.vscode-cdn.net';
  const nonce = createNonce();
  const html = renderWebviewHtml({ cspSource, nonce, scriptUri: `${cspSource}/dist/webview.js`, styleUri: `${cspSource}/dist/webview.css` });

  it('puts a strict CSP with the nonce first in <head>', () => {
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html);
    assert.ok(meta);
    const csp = meta[1].replace(/&#39;|&apos;/g, "'");
    assert.equal(csp, contentSecurityPolicy(cspSource, nonce));
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('script-src'), [`'nonce-${nonce}'`]);
    assert.deepEqual(directives.get('style-src'), [cspSource, `'nonce-${nonce}'`]);
    assert.deepEqual(directives.get('font-src'), [cspSource]);
    assert.deepEqual(directives.get('img-src'), [cspSource, 'data:']);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:\/\/(?!file\+)/);
    assert.ok(html.indexOf('Content-Security-Policy') < html.indexOf('<link'), 'the CSP precedes every resource');
  });

  it('loads exactly one script, with the nonce, and one stylesheet', () => {
    const scripts = [...html.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    assert.deepEqual(scripts, [` nonce="${nonce}" src="${cspSource}/dist/webview.js"`]);
    assert.deepEqual([...html.matchAll(/<link rel="stylesheet" href="([^"]*)">/g)].map((m) => m[1]), [`${cspSource}/dist/webview.css`]);
    assert.doesNotMatch(html, /style=/);
    assert.match(html, new RegExp(`<meta property="csp-nonce" content="${nonce}">`));
  });

  it('escapes attribute values and refuses a weak nonce or an odd cspSource', () => {
    const h = renderWebviewHtml({ cspSource, nonce, scriptUri: 'x"><img src=y>', styleUri: 's', title: '<b>' });
    assert.match(h, /src="x&quot;&gt;&lt;img src=y&gt;"/);
    assert.match(h, /<title>&lt;b&gt;<\/title>/);
    assert.throws(() => renderWebviewHtml({ cspSource, nonce: 'short', scriptUri: 's', styleUri: 's' }), TypeError);
    assert.throws(() => renderWebviewHtml({ cspSource, nonce: "abcdefghijklmnop'q", scriptUri: 's', styleUri: 's' }), TypeError);
    assert.throws(() => renderWebviewHtml({ cspSource: "x; script-src 'unsafe-inline'", nonce, scriptUri: 's', styleUri: 's' }), TypeError);
    assert.throws(() => renderWebviewHtml({ cspSource: "'self' 'unsafe-inline'", nonce, scriptUri: 's', styleUri: 's' }), TypeError);
    assert.throws(() => renderWebviewHtml({ cspSource: 'https://a.example,https://b.example', nonce, scriptUri: 's', styleUri: 's' }), TypeError);
  });

  it("accepts code-server's list of sources (`'self' https://*.vscode-cdn.net`)", () => {
    const list = "'self' https://*.vscode-cdn.net";
    const h = renderWebviewHtml({ cspSource: list, nonce, scriptUri: 's', styleUri: 't' });
    const csp = /content="([^"]*)"/.exec(h)![1].replace(/&#39;|&apos;/g, "'");
    assert.match(csp, /style-src 'self' https:\/\/\*\.vscode-cdn\.net 'nonce-/);
  });

  it('makes fresh 32-character base64url nonces', () => {
    const nonces = new Set(Array.from({ length: 200 }, () => createNonce()));
    assert.equal(nonces.size, 200);
    for (const n of nonces) assert.match(n, /^[A-Za-z0-9_-]{32}$/);
  });
});

describe('protocol guards', () => {
  const origin = { kind: 'live', label: 'PID 1' };

  it('accept every well-formed host message', () => {
    assert.ok(isHostMessage({ type: 'report', report, origin }));
    assert.ok(isHostMessage({ type: 'focus', callSite: focus }));
    assert.ok(isHostMessage({ type: 'focus', callSite: null }));
    assert.ok(isHostMessage({ type: 'clear' }));
    assert.ok(isHostMessage({ type: 'error', message: 'EPERM', detail: 'ptrace_scope' }));
    assert.ok(isHostMessage({ type: 'progress', message: null }));
  });

  it('reject malformed host messages', () => {
    assert.ok(!isHostMessage(null));
    assert.ok(!isHostMessage({ type: 'report', report: { ...report, schema: 2 }, origin }));
    assert.ok(!isHostMessage({ type: 'report', report, origin: { kind: 'remote', label: 'x' } }));
    const broken = { ...report, instances: { ...report.instances, verdicts: [{ name: 'x' }] } };
    assert.ok(!isHostMessage({ type: 'report', report: broken, origin }));
    const { criu: _criu, ...noCriu } = verdicts[0];
    const partial = { ...report, instances: { ...report.instances, verdicts: [noCriu, ...verdicts.slice(1)] } };
    assert.ok(!isHostMessage({ type: 'report', report: partial, origin }));
    const { callSites: _cs, ...noCallSites } = report.stats;
    assert.ok(!isHostMessage({ type: 'report', report: { ...report, stats: noCallSites }, origin }));
    assert.ok(!isHostMessage({ type: 'focus', callSite: { ...focus, line: -1 } }));
    assert.ok(!isHostMessage({ type: 'focus', callSite: { label: 'x', features: 'avx2' } }));
    assert.ok(!isHostMessage({ type: 'error' }));
    assert.ok(!isHostMessage({ type: 'reveal' }));
  });

  it('check what the webview posts', () => {
    for (const m of [
      { type: 'ready' },
      { type: 'export', format: 'json' },
      { type: 'export', format: 'list' },
      { type: 'reveal', uri: 'file:///a.py', line: 3 },
      { type: 'command', command: 'analyzeProcess' },
      { type: 'log', level: 'error', message: 'x' },
    ]) {
      assert.ok(isWebviewMessage(m), JSON.stringify(m));
    }
    assert.ok(!isWebviewMessage({ type: 'export', format: 'csv' }));
    assert.ok(!isWebviewMessage({ type: 'reveal', uri: 'file:///a.py', line: 1.5 }));
    assert.ok(!isWebviewMessage({ type: 'command', command: 'rm -rf' }));
    assert.ok(!isWebviewMessage({ type: 'log', level: 'debug', message: 'x' }));
  });
});

describe('grid model', () => {
  it('the fixture is a whole catalog with consistent verdicts', () => {
    // A recorded report (383 measured types, before the derived rows): its own total, whatever the catalog is now.
    assert.ok(verdicts.length > 0);
    assert.equal(report.instances.total, verdicts.length);
    assert.deepEqual(new Set(report.instances.compatible), new Set(verdicts.filter((v) => v.compatible).map((v) => v.name)));
    for (const v of verdicts) {
      assert.equal(v.compatible, v.missing.length === 0);
      for (const f of v.missing) assert.ok(report.required.includes(f) && f in FEATURES, `${v.name}: ${f}`);
    }
  });

  it('sorts sizes the way EC2 names them', () => {
    const sizes = ['metal', '24xlarge', 'xlarge', 'large', '2xlarge', 'medium', 'nano', 'metal-48xl', '12xlarge'];
    assert.deepEqual(
      [...sizes].sort((a, b) => sizeRank(a) - sizeRank(b) || a.localeCompare(b)),
      ['nano', 'medium', 'large', 'xlarge', '2xlarge', '12xlarge', '24xlarge', 'metal', 'metal-48xl'],
    );
    const c5 = sortRows(rows, 'name', 'asc').filter((r) => r.family === 'c5').map((r) => r.v.name);
    assert.deepEqual(c5.slice(0, 3), ['c5.large', 'c5.xlarge', 'c5.2xlarge']);
  });

  it('sorts numbers and verdicts both ways with a stable tie-break', () => {
    const asc = sortRows(rows, 'memory', 'asc').map((r) => r.v.memoryGiB);
    assert.deepEqual(asc, [...asc].sort((a, b) => a - b));
    const desc = sortRows(rows, 'memory', 'desc').map((r) => r.v.memoryGiB);
    assert.deepEqual(desc, [...asc].reverse());
    const byVerdict = sortRows(rows, 'compatible', 'asc');
    const n = report.instances.compatible.length;
    assert.ok(byVerdict.slice(0, n).every((r) => r.v.compatible) && byVerdict.slice(n).every((r) => !r.v.compatible));
    assert.deepEqual(sortRows(rows, 'vcpu', 'asc').map((r) => r.v.name), sortRows([...rows].reverse(), 'vcpu', 'asc').map((r) => r.v.name));
  });

  it('filters by verdict, family, vendor and search terms', () => {
    assert.equal(filterRows(rows, ALL).length, verdicts.length);
    assert.equal(filterRows(rows, { ...ALL, compatibleOnly: true }).length, report.instances.compatible.length);
    const m5 = verdicts.filter((v) => v.family === 'm5').length;
    assert.equal(filterRows(rows, { ...ALL, family: 'm5' }).length, m5);
    const amd = verdicts.filter((v) => v.vendor === 'amd' && v.compatible).length;
    assert.equal(filterRows(rows, { ...ALL, vendor: 'amd', compatibleOnly: true }).length, amd);
    // Every term must match, in any column; case does not matter.
    const zen4 = verdicts.filter((v) => v.generation === 'Zen 4' && v.name.startsWith('c7a')).length;
    assert.ok(zen4 > 0);
    assert.equal(filterRows(rows, { ...ALL, search: '  C7A   zen ' }).length, zen4);
    assert.equal(filterRows(rows, { ...ALL, search: 'avx-512vnni' }).length, 0, 'not required, so never missing');
    assert.equal(familyCounts(rows).reduce((s, f) => s + f.count, 0), verdicts.length);
  });

  it('searches the provenance (derived, measured, the micro-architecture), and the report guard checks it', () => {
    const marked = verdicts.map((v, i) => ({
      ...v,
      provenance: i % 3 === 0 ? { kind: 'derived' as const, basis: 'sapphirerapids', confidence: 'high' as const } : { kind: 'measured' as const, basis: 'aws-ec2-x86-isa-sets.json' },
    }));
    const mrows = buildRows(marked, featureLabel);
    const derivedCount = marked.filter((v) => v.provenance.kind === 'derived').length;
    assert.equal(filterRows(mrows, { ...ALL, search: 'derived' }).length, derivedCount);
    assert.equal(filterRows(mrows, { ...ALL, search: 'SapphireRapids' }).length, derivedCount);
    assert.equal(filterRows(mrows, { ...ALL, search: 'measured' }).length, marked.length - derivedCount);
    assert.equal(filterRows(rows, { ...ALL, search: 'derived' }).length, 0, 'a report without provenance matches nothing');
    const origin = { kind: 'live', label: 'PID 1' };
    const withProvenance = { ...report, instances: { ...report.instances, verdicts: marked } };
    assert.ok(isHostMessage({ type: 'report', report: withProvenance, origin }));
    const bad = { ...report, instances: { ...report.instances, verdicts: [{ ...marked[0], provenance: { kind: 'guessed', basis: 'x' } }, ...marked.slice(1)] } };
    assert.ok(!isHostMessage({ type: 'report', report: bad, origin }));
  });

  it('derives what a focused call rules out, or takes the host list', () => {
    const want = new Set(focus.features);
    const derived = ruledOutBy(verdicts, focus.features);
    assert.deepEqual(derived, new Set(verdicts.filter((v) => v.missing.some((f) => want.has(f))).map((v) => v.name)));
    // Every type has SSE3, so a call that needs only it rules out nothing.
    assert.equal(ruledOutBy(verdicts, ['pni']).size, verdicts.filter((v) => v.missing.includes('pni')).length);
    assert.deepEqual(ruledOutBy(verdicts, focus.features, ['c3.large']), new Set(['c3.large']));
    assert.equal(filterRows(rows, { ...ALL, only: derived }).length, derived.size);
  });

  it('orders features lowest level first, AVX-512F before its extensions', () => {
    assert.deepEqual(displayOrder(['avx512vl', 'sha_ni', 'avx2', 'avx512f', 'pni']), ['pni', 'avx2', 'avx512f', 'avx512vl', 'sha_ni']);
  });

  it('sanitizes persisted state from older or foreign versions', () => {
    assert.deepEqual(sanitizeUi(undefined), DEFAULT_UI);
    assert.deepEqual(sanitizeUi('garbage'), DEFAULT_UI);
    const ui = sanitizeUi({ search: 'x', compatibleOnly: true, vendor: 'amd', sort: { key: 'vcpu', dir: 'desc' }, tab: 'notes', scrollY: 40 });
    assert.deepEqual(ui, { ...DEFAULT_UI, search: 'x', compatibleOnly: true, vendor: 'amd', sort: { key: 'vcpu', dir: 'desc' }, tab: 'notes', scrollY: 40 });
    const bad = sanitizeUi({ vendor: 'via', sort: { key: 'price', dir: 'up' }, tab: 'x', scrollY: -5, compatibleOnly: 'yes' });
    assert.deepEqual(bad, DEFAULT_UI);
    // The default object itself is never handed out for mutation.
    const fresh = sanitizeUi(null);
    fresh.sort.key = 'cpu';
    assert.equal(DEFAULT_UI.sort.key, 'compatible');
  });
});
