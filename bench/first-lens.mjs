// The "first lens of a NumPy file, cold" row of bench/table.mjs alone, for A/B runs of two builds: a fresh server
// (empty cache directory) → didOpen → the first static lens on a line; prints its wall and CPU, and with --dump the
// final lenses (once no refresh changes them) as JSON, to compare the lenses of two builds.
// Usage: node bench/first-lens.mjs [--root DIR] [--file F.py] [--line TEXT] [--python P] [--dump] [--threads]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchWorkspace, startServer } from './lib/lsp.mjs';
import { procCpuSeconds } from './lib/proc.mjs';

const argv = process.argv.slice(2);
const value = (n, d) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log('usage: node bench/first-lens.mjs [--root DIR] [--file F.py] [--line TEXT] [--python P] [--dump] [--threads]\n' +
    '  --root DIR   the build to time (its dist/server.js; default: this checkout)\n' +
    '  --file F.py  the file opened (default test/e2e/fixtures/bench/numpy_app.py); --line TEXT: the lens awaited is on\n' +
    '               the first line containing TEXT (default np.matmul)\n' +
    '  --dump       then wait until the lenses stop changing and print them (line, title) as JSON on stdout\n' +
    '  --threads    also print the CPU seconds of each of the server\'s threads at the first lens');
  process.exit(0);
}
const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const root = path.resolve(value('--root', here));
const file = path.resolve(value('--file', path.join(here, 'test/e2e/fixtures/bench/numpy_app.py')));
const lineText = value('--line', 'np.matmul');
const STATIC_LENS = /^\$\(chip\) /;

const workspace = benchWorkspace(file);
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pygration-bench-cache-'));
// The connection is made with this checkout's vscode-jsonrpc; the server is the build's.
const s = await startServer({ serverJs: path.join(root, 'dist', 'server.js'), workspace, python: value('--python', '/usr/bin/python3'), cacheDir, root: here });
try {
  const docUri = pathToFileURL(path.join(workspace, path.basename(file))).href;
  const text = fs.readFileSync(file, 'utf8');
  const line = text.split('\n').findIndex((l) => l.includes(lineText));
  if (line < 0) throw new Error(`no line of ${file} contains ${lineText}`);
  s.conn.sendNotification('initialized', {});
  const cpu0 = s.cpuSeconds();
  const t0 = process.hrtime.bigint();
  s.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: docUri, languageId: 'python', version: 1, text } });
  await s.lensOn(docUri, line, STATIC_LENS);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  console.error(`first lens: ${seconds.toFixed(3)} s wall, ${(s.cpuSeconds() - cpu0).toFixed(3)} s cpu (server and its helper, from didOpen); server since its start ${procCpuSeconds(s.child.pid).toFixed(3)} s cpu`);
  if (argv.includes('--threads')) {
    const tasks = `/proc/${s.child.pid}/task`;
    for (const t of fs.readdirSync(tasks)) {
      const stat = fs.readFileSync(`${tasks}/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      console.error(`  thread ${t} ${fs.readFileSync(`${tasks}/${t}/comm`, 'utf8').trim()}: ${((Number(f[11]) + Number(f[12])) / 100).toFixed(2)} s`);
    }
  }
  if (argv.includes('--dump')) {
    // The answer settles when three asks 2 s apart give the same lenses (a later refresh would change them).
    let last = '';
    let lenses = [];
    for (let same = 0; same < 3; ) {
      await new Promise((r) => setTimeout(r, 2000));
      lenses = (await s.conn.sendRequest('textDocument/codeLens', { textDocument: { uri: docUri } })) ?? [];
      const now = JSON.stringify(lenses);
      same = now === last ? same + 1 : 0;
      last = now;
    }
    console.log(JSON.stringify(lenses.map((l) => ({ line: l.range.start.line, title: l.command?.title })), null, 1));
  }
} finally {
  await s.stop();
  fs.rmSync(workspace, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
}
