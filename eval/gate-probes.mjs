// Gate probes: small programs (eval/gate-probes/*.py) that reach a kernel of the evaluation's gatekern extension by
// one route each (an alias, a dict, a thread target, a callback, reflection, …), analysed with `pygration run` under
// the precise root policy, the default (or --strict). Each program names what must be required (`# expect:`) or must not be
// (`# absent:`); features this host lacks are skipped. Exit 1 when a probe fails. Not part of CI (about 3 min).
// Usage: node eval/gate-probes.mjs [--strict] [--only t01,t14] [--json] [--cli PATH] [--python PATH]
//   --cli: another build's dist/cli.js; --python: the interpreter that runs the probes (default `python3` on PATH), e.g.
//   a pyenv CPython 3.8–3.13, whose python3-config next to it builds the probes' extension for it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, buildNativeParts } from './lib/build.mjs';

const args = process.argv.slice(2);
const strict = args.includes('--strict');
const json = args.includes('--json');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : undefined;
if (args.includes('--help')) {
  console.log('usage: node eval/gate-probes.mjs [--strict] [--only t01,t14] [--json] [--cli PATH] [--python PATH]');
  process.exit(0);
}

const dir = path.join(REPO_ROOT, 'eval', 'gate-probes');
const cli = args.includes('--cli') ? path.resolve(args[args.indexOf('--cli') + 1]) : path.join(REPO_ROOT, 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  console.error(`${cli} is missing: run \`node esbuild.mjs\` first.`);
  process.exit(2);
}
const given = args.includes('--python') ? path.resolve(args[args.indexOf('--python') + 1]) : undefined;
const python = given ?? 'python3';
// Without --python, Debian's python3-config builds the extension for the `python3` on PATH (assumed the same version).
const native = buildNativeParts(given);
const host = new Set(JSON.parse(execFileSync('node', [cli, 'host', '--json'], { encoding: 'utf8' })).features);
const list = (text, key) => (new RegExp(`^# ${key}: (.*)$`, 'm').exec(text)?.[1] ?? '').split(/\s+/).filter(Boolean);

const rows = [];
let failed = 0;
for (const file of fs.readdirSync(dir).filter((f) => /^t\d+_.*\.py$/.test(f)).sort()) {
  if (only && !only.some((o) => file.startsWith(o))) continue;
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  const expect = list(text, 'expect').filter((f) => host.has(f));
  const absent = strict ? [] : list(text, 'absent');
  const row = { probe: file, expect, absent };
  try {
    const out = execFileSync('node', [cli, 'run', '--ready-line', 'READY', ...(strict ? ['--strict'] : []), '--no-full-scan', '--json', '--', python, file], {
      cwd: dir,
      env: { ...process.env, PYTHONPATH: `${native}:${dir}`, PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    });
    const report = JSON.parse(out);
    const required = new Set(report.required);
    row.policy = report.rootPolicy;
    row.missing = expect.filter((f) => !required.has(f));
    row.extra = absent.filter((f) => required.has(f));
    row.ok = row.missing.length === 0 && row.extra.length === 0;
  } catch (e) {
    row.ok = false;
    row.error = String(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ');
  }
  if (!row.ok) failed++;
  rows.push(row);
  if (!json) {
    const what = row.error ? `error: ${row.error}` : `${row.policy}${row.missing.length ? `; MISSING ${row.missing.join(' ')}` : ''}${row.extra.length ? `; CHARGED ${row.extra.join(' ')}` : ''}`;
    console.log(`${row.ok ? 'ok  ' : 'FAIL'} ${file.padEnd(22)} ${what}`);
  }
}
if (json) console.log(JSON.stringify({ strict, failed, rows }, null, 1));
else console.log(`${rows.length - failed} of ${rows.length} probes passed (${strict ? 'strict' : 'precise'} root policy).`);
process.exit(failed ? 1 : 0);
