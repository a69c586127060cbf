// CPU features per Python call site on real NumPy and scikit-learn (Debian packages, static analysis of the
// files at rest): np.dot, the @ operator, np.linalg.svd and a scikit-learn fit must each resolve to native
// code with the features of that code on this host.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { analyzeCallSites } from '../../server/src/callSites';
import { collectHost, hostFeatures } from '../../native/src/features/host';
import { DEBIAN_PYTHON, FIXTURE_SRC, debianPythonHas } from '../helpers/fixtures';
import { skipUnless } from '../helpers/skip';

test('np.dot, a @ b, np.linalg.svd and a scikit-learn fit resolve to native code', { skip: skipUnless(debianPythonHas('numpy', 'sklearn'), 'python3-numpy / python3-sklearn missing'), timeout: 300_000 }, async () => {
  const file = path.join(FIXTURE_SRC, 'python', 'callsites', 'numeric.py');
  const host = hostFeatures(await collectHost());
  const r = await analyzeCallSites({ python: DEBIAN_PYTHON, files: [file], hostFeatures: host });
  try {
    const sites = r.byFile.get(file) ?? [];
    const at = (line: number, what: RegExp) => {
      const s = sites.find((x) => x.range.line === line - 1 && what.test(x.qualifiedName ?? x.callee));
      assert.ok(s, `a call site on line ${line} matching ${what}: ${sites.map((x) => `${x.range.line + 1}:${x.qualifiedName ?? x.callee}`).join(', ')}`);
      return s;
    };
    const dot = at(6, /dot$/);
    assert.equal(dot.origin, 'static');
    assert.ok(dot.natives.some((n) => /_multiarray_umath/.test(n.library)), JSON.stringify(dot.natives));
    const matmul = at(7, /matmul|@/);
    assert.notEqual(matmul.origin, 'unknown', matmul.reason);
    assert.ok(matmul.natives.length > 0);
    const svd = at(8, /svd$/);
    assert.ok(svd.natives.some((n) => /_umath_linalg/.test(n.library)), JSON.stringify(svd.natives));
    const fit = at(11, /fit$/);
    assert.ok(fit.natives.length > 0, fit.reason);
    // Every resolved site's features are on the host and beyond the baseline, with where they were found.
    for (const s of [dot, matmul, svd, fit]) {
      for (const f of s.features) assert.ok(host.has(f), `${f} is on the host`);
      for (const p of s.provenance) assert.ok(p.sites.length > 0);
    }
    assert.ok(r.pvmRequired && r.pvmRequired.length > 0, 'the interpreter has its own requirement');
  } finally {
    r.close();
  }
});
