#!/usr/bin/env node
// Lens coverage at rest: the share of call sites (calls and operators) in the evaluation workloads' files that
// static resolution maps to native code, from `pygration calls --json`, per file and in total.
//
// Usage: node scripts/lens-coverage.mjs [--cli dist/cli.js] [--python /usr/bin/python3] [--json] [FILE...]
// Default files: eval/workloads/*.py and examples/*.py. --cli compares builds (e.g. the main checkout's).

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const args = process.argv.slice(2);
let cli = 'dist/cli.js';
let python = '/usr/bin/python3';
let json = false;
const files = [];
while (args.length) {
  const a = args.shift();
  if (a === '--cli') cli = args.shift();
  else if (a === '--python') python = args.shift();
  else if (a === '--json') json = true;
  else files.push(a);
}
if (!files.length) {
  for (const dir of ['eval/workloads', 'examples']) {
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.py')) files.push(path.join(dir, f));
  }
}
// One run per file: two roots of one module name (eval/workloads/matmul.py, examples/matmul.py) would be one.
const rows = new Map(files.map((f) => [path.resolve(f), { file: f, sites: 0, resolved: 0, unknown: 0 }]));
for (const f of files) {
  const out = execFileSync(process.execPath, [cli, 'calls', '--json', '--python', python, f], { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  for (const s of JSON.parse(out).callSites) {
    const row = rows.get(s.file);
    if (!row) continue;
    row.sites++;
    if (s.origin === 'unknown') row.unknown++;
    else row.resolved++;
  }
}
const total = { file: 'total', sites: 0, resolved: 0, unknown: 0 };
for (const r of rows.values()) {
  total.sites += r.sites;
  total.resolved += r.resolved;
  total.unknown += r.unknown;
}
const pct = (r) => (r.sites ? ((100 * r.resolved) / r.sites).toFixed(1) : '-');
if (json) {
  console.log(JSON.stringify({ cli, python, files: [...rows.values()], total }, null, 1));
} else {
  for (const r of [...rows.values(), total]) console.log(`${r.file.padEnd(36)} ${String(r.resolved).padStart(4)} / ${String(r.sites).padStart(4)}  ${pct(r).padStart(5)} %`);
}
