// Which code lenses show and how they read (issue 14): no origin suffix on static lenses, `· live` on live
// ones, calls that add nothing to the interpreter's own requirement hidden unless asked for, lenses off with
// pygration.codeLens.enable, and SHA-NI named as such in lenses and hovers.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { defaultCatalog } from '../../native/src/catalog/catalog';
import { featureLabel, type Feature } from '../../native/src/features/vocabulary';
import type { CallSiteAnalysis } from '../../server/src/model';
import { addsNothingBeyondInterpreter, catalogRarity, computeCodeLenses, computeHover, lensTitle } from '../../server/src/presentation';

const rarity = catalogRarity(defaultCatalog());
/** An interpreter's own requirement, as the server computes it for /usr/bin/python3 (a typical v3 set). */
const interpreter: ReadonlySet<Feature> = new Set<Feature>(['avx', 'avx2', 'bmi1', 'bmi2', 'sse4_1', 'sse4_2', 'ssse3', 'popcnt']);

function site(line: number, callee: string, features: Feature[], extra: Partial<CallSiteAnalysis> = {}): CallSiteAnalysis {
  return {
    uri: 'file:///w/app.py',
    range: { line, character: 0, endLine: line, endCharacter: 10 },
    callee,
    qualifiedName: callee,
    natives: [{ symbol: `${callee}_impl`, library: 'mod.so', exact: false }],
    features,
    provenance: [],
    origin: 'static',
    ...extra,
  };
}

test('a static lens has no origin suffix; a live one ends in "· live" and starts with a pulse', () => {
  const s = site(1, 'pk.k_sha', ['sha_ni', 'avx2']);
  const title = lensTitle(s, rarity, interpreter);
  assert.equal(title, '$(chip) SHA-NI + 1 shared with the interpreter — pk.k_sha → pk.k_sha_impl (mod)');
  assert.doesNotMatch(title, /static/);
  const live = lensTitle({ ...s, origin: 'live' }, rarity, interpreter);
  assert.match(live, /^\$\(pulse\) SHA-NI .* · live$/);
});

test('SHA-NI is the UI name of sha_ni (the cpuinfo name stays the canonical one)', () => {
  assert.equal(featureLabel('sha_ni'), 'SHA-NI');
  const hover = (computeHover(site(1, 'pk.k_sha', ['sha_ni']), rarity).contents as { value: string }).value;
  assert.match(hover, new RegExp(`\\| SHA-NI \\| \\d+ of ${defaultCatalog().instances.length} types \\|`));
});

test('calls that add nothing beyond the interpreter are hidden by default and shown on request', () => {
  const sites = [
    site(1, 'pk.k_sha', ['sha_ni', 'avx2']),
    site(2, 'range', ['avx2', 'sse4_2']),
    site(3, 'print', ['popcnt']),
    site(4, 'mod.partly', ['avx2'], { unknownCallees: 1 }),
  ];
  assert.equal(addsNothingBeyondInterpreter(sites[1], interpreter), true);
  assert.equal(addsNothingBeyondInterpreter(sites[0], interpreter), false);
  assert.equal(addsNothingBeyondInterpreter(sites[3], interpreter), false, 'an unknown callee may add something: the lens stays');
  assert.equal(addsNothingBeyondInterpreter(sites[1], undefined), false, 'without the interpreter\'s requirement nothing is hidden');
  const command = 'pygration.showCallSite';
  const byDefault = computeCodeLenses(sites, rarity, { showBaseline: false, interpreter, command });
  assert.deepEqual(byDefault.map((l) => l.range.start.line), [1, 4]);
  assert.doesNotMatch(byDefault[0].command!.title, /interpreter needs these too/);
  assert.match(byDefault[1].command!.title, /^\$\(chip\) at least AVX2 \(the interpreter needs these too\) \(1 native callee unknown\)/);
  const all = computeCodeLenses(sites, rarity, { showBaseline: false, showShared: true, interpreter, command });
  assert.deepEqual(all.map((l) => l.range.start.line), [1, 2, 3, 4]);
  assert.match(all[1].command!.title, /\(the interpreter needs these too\)/);
  assert.deepEqual(computeCodeLenses(sites, rarity, { enabled: false, showBaseline: true, showShared: true, interpreter, command }), [], 'pygration.codeLens.enable off: no lens');
});
