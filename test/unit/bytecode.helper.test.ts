// The Python dump helper and the TypeScript decoder/simulation under every CPython 3.8-3.13 on the machine:
// compact format = dis, modules found without imports, .pyc only when valid, stack in step with stack_effect.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FIXTURE_SRC } from '../helpers/fixtures';
import { Decoder, PythonHelper, simulateModule, simulateModuleLazily, defaultHelperPath } from '../../server/src/bytecode';
import { describe } from '../../server/src/bytecode/values';
import type { ModuleRecord } from '../../server/src/bytecode';
import { isClassified } from '../../server/src/bytecode/opsemantics';
import type { CompactCode, FullInstruction, PyConst } from '../../server/src/bytecode/helperRecords';
import { pyenvVersionsDir } from '../helpers/pyenv';
import { skipUnless } from '../helpers/skip';

const PKG = path.join(FIXTURE_SRC, 'python', 'bytecode', 'fixpkg');

function pythons(): { path: string; version: string; minor: number }[] {
  const candidates = ['/usr/bin/python3'];
  const root = pyenvVersionsDir();
  if (root) for (const v of fs.readdirSync(root).sort()) candidates.push(path.join(root, v, 'bin', 'python3'));
  const out: { path: string; version: string; minor: number }[] = [];
  for (const p of candidates) {
    if (!fs.existsSync(p)) continue;
    let version: string;
    try {
      version = execFileSync(p, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' }).trim();
    } catch {
      continue;
    }
    const minor = Number(version.split('.')[1]);
    if (version.startsWith('3.') && minor >= 8 && minor <= 13) out.push({ path: p, version, minor });
  }
  return out;
}

async function dump(helper: PythonHelper, request: Parameters<PythonHelper['dump']>[0]): Promise<ModuleRecord[]> {
  const out: ModuleRecord[] = [];
  await helper.dump(request, (m) => out.push(m));
  return out;
}

/** Stdlib modules with every kind of construct: classes, generators, async, try/finally, with, match. */
const STDLIB = ['json.decoder', 'asyncio.base_events', 'typing', 'argparse', 'contextlib', 'pathlib'];

function norm(v: PyConst | PyConst[] | undefined): string {
  if (Array.isArray(v)) return JSON.stringify({ tuple: v });
  return JSON.stringify(v ?? null);
}

/** A generated module large enough to need EXTENDED_ARG for constants, names and jumps (and, from 3.10 on,
 * a match statement with every kind of pattern). */
function bigModule(dir: string, minor: number): string {
  const lines: string[] = [];
  if (minor >= 10) {
    lines.push('class Point:', '    __match_args__ = ("x", "y")', '    def __init__(self, x, y):', '        self.x, self.y = x, y');
    lines.push('def matcher(v):', '    match v:');
    lines.push('        case Point(0, y) if y > 1:', '            return len(str(y))');
    lines.push('        case {"k": k, **rest}:', '            return dict(rest)');
    lines.push('        case [a, *others]:', '            return sorted(others)');
    lines.push('        case str() | bytes():', '            return repr(v)');
    lines.push('        case _:', '            return None');
  }
  for (let k = 0; k < 400; k++) lines.push(`name_${k} = ${k * 7} + len('s${k}')`);
  lines.push('def f(x):');
  lines.push('    if x:');
  for (let k = 0; k < 300; k++) lines.push(`        x = x + name_${k}`);
  lines.push('    return x');
  const file = path.join(dir, 'bigmod.py');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

for (const py of pythons()) {
  test(`helper and decoder under Python ${py.version} (${py.path})`, async (t) => {
    const helper = await PythonHelper.start({ python: py.path });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pyg-helper-'));
    try {
      assert.equal(helper.info.version[1], py.minor);
      assert.equal(helper.model.opnames.length, 256);
      assert.ok(!helper.info.sysPath.includes(path.dirname(defaultHelperPath())), 'the helper directory leaked into sys.path');

      await t.test('every opcode of this interpreter is classified by the simulation', () => {
        const missing = helper.model.opnames.filter((n): n is string => !!n && !n.startsWith('<') && !isClassified(n));
        assert.deepEqual(missing, []);
      });

      const decoder = new Decoder(helper.model);
      const big = bigModule(tmp, py.minor);
      await t.test('the compact format decodes to what dis.get_instructions says, instruction by instruction', async () => {
        const files = [path.join(PKG, 'core.py'), path.join(PKG, 'shapes.py'), path.join(PKG, 'app.py'), big];
        const compact = await dump(helper, { files, modules: STDLIB });
        const full = await dump(helper, { files, modules: STDLIB, format: 'full' });
        assert.equal(compact.length, full.length);
        let instructions = 0;
        let extended = 0;
        for (let m = 0; m < compact.length; m++) {
          const a = compact[m];
          const b = full[m];
          assert.equal(a.name, b.name);
          assert.ok(a.codes && b.codes, `${a.name}: no code`);
          assert.equal(a.codes.length, b.codes.length);
          const decoded = decoder.decodeAll(a.codes as CompactCode[]);
          for (let c = 0; c < decoded.length; c++) {
            const d = decoded[c];
            const ref: FullInstruction[] = (b.codes[c] as CompactCode).instructions!.filter((x) => x[1] !== 'EXTENDED_ARG' && x[1] !== 'CACHE');
            const where = `${a.name}:${d.raw.qualname ?? d.raw.name}`;
            assert.equal(d.n, ref.length, `${where}: instruction count`);
            for (let i = 0; i < d.n; i++) {
              const [offset, opname, arg, argval, line, col, endLine, endCol, effect, jumpEffect] = ref[i];
              const at = `${where}@${offset} ${opname}`;
              assert.equal(d.offset[i], offset, at);
              assert.equal(helper.model.opnames[d.op[i]], opname, at);
              assert.equal(d.arg[i] < 0 ? null : d.arg[i], arg, at);
              if (arg !== null && arg >= 256) extended++;
              const kind = helper.model.argKinds[d.op[i]];
              if (kind && kind !== 'int') assert.equal(norm(decoder.argval(d, i)), norm(argval), `${at}: argval`);
              assert.equal(d.effect[i] === -0x8000 ? null : d.effect[i], effect, `${at}: stack effect`);
              if (jumpEffect !== null) assert.equal(d.jumpEffect[i], jumpEffect, `${at}: jump effect`);
              if (py.minor >= 11) {
                assert.equal(d.line[i] < 0 ? null : d.line[i], line, `${at}: line`);
                assert.equal(d.col[i] < 0 ? null : d.col[i], col, `${at}: column`);
                assert.equal(d.endLine[i] < 0 ? null : d.endLine[i], endLine, `${at}: end line`);
                assert.equal(d.endCol[i] < 0 ? null : d.endCol[i], endCol, `${at}: end column`);
              } else if (d.line[i] >= 0) assert.equal(d.line[i], line, `${at}: line`);
              instructions++;
            }
          }
        }
        assert.ok(instructions > 20000, `only ${instructions} instructions compared`);
        assert.ok(extended > 100, 'no instruction with an EXTENDED_ARG argument was compared');
      });

      await t.test('the simulation matches dis.stack_effect on every instruction of real stdlib code', async () => {
        const recs = await dump(helper, { modules: STDLIB, files: [big] });
        for (const r of recs) {
          const s = simulateModule({ module: r.name, file: r.file ?? '', isPackage: !!r.isPackage, codes: decoder.decodeAll(r.codes! as CompactCode[]), decoder, python: helper.info });
          assert.equal(s.stats.desync, 0, `${r.name}: ${s.stats.desyncAt.join(', ')}`);
          assert.equal(s.stats.effectMismatches, 0, `${r.name}: ${s.stats.effectMismatchAt.join(', ')}`);
          assert.deepEqual(s.stats.unclassified, {}, r.name);
          assert.equal(s.stats.widened, 0, `${r.name}: a loop did not converge`);
          // 3.8 enters finally bodies with different depths by design (see SimulationStats.depthMismatches).
          if (py.minor >= 9) assert.equal(s.stats.depthMismatches, 0, r.name);
          assert.ok(s.sites.length > 0 || r.name === 'bigmod', `${r.name}: no call sites`);
        }
      });

      await t.test('modules are found without being imported', async () => {
        const marker = path.join(tmp, 'imported.marker');
        fs.mkdirSync(path.join(tmp, 'sidefx'));
        fs.writeFileSync(path.join(tmp, 'sidefx', '__init__.py'), `open(${JSON.stringify(marker)}, 'w').write('ran')\nraise SystemExit(3)\n`);
        fs.writeFileSync(path.join(tmp, 'sidefx', 'child.py'), `open(${JSON.stringify(marker)}, 'w').write('ran')\n`);
        fs.mkdirSync(path.join(tmp, 'nspkg'));
        fs.writeFileSync(path.join(tmp, 'nspkg', 'inner.py'), 'X = 1\n');
        await helper.prependPath([tmp]);
        const recs = await dump(helper, { modules: ['sidefx', 'sidefx.child', 'nspkg', 'nspkg.inner', 'json', '_json', 'sys', 'os.path', 'no_such_module_xyz', 'json.no_such_child', 'os.path.join'] });
        const by = new Map(recs.map((r) => [r.name, r]));
        assert.ok(!fs.existsSync(marker), 'a module was executed');
        assert.equal(by.get('sidefx')?.kind, 'python');
        assert.equal(by.get('sidefx')?.isPackage, true);
        assert.ok(by.get('sidefx')?.codes?.length);
        assert.equal(by.get('sidefx.child')?.kind, 'python');
        assert.equal(by.get('nspkg')?.kind, 'namespace');
        assert.equal(by.get('nspkg.inner')?.kind, 'python');
        assert.equal(by.get('json')?.isPackage, true);
        assert.ok(['native', 'builtin'].includes(by.get('_json')!.kind));
        assert.equal(by.get('sys')?.kind, 'builtin');
        assert.equal(by.get('os.path')?.kind, 'alias');
        assert.equal(by.get('os.path')?.target, 'posixpath');
        assert.equal(by.get('no_such_module_xyz')?.kind, 'missing');
        assert.equal(by.get('json.no_such_child')?.kind, 'missing');
        assert.equal(by.get('os.path.join')?.kind, 'missing');
      });

      await t.test('a .pyc is used only while it matches its source (timestamp and hash-based)', async () => {
        const dir = path.join(tmp, 'pycpkg');
        fs.mkdirSync(dir);
        const src = path.join(dir, 'stamp.py');
        const hashed = path.join(dir, 'hashed.py');
        fs.writeFileSync(src, 'def old():\n    return 1\n');
        fs.writeFileSync(hashed, 'def old():\n    return 1\n');
        execFileSync(py.path, ['-c', `import py_compile as p; p.compile(${JSON.stringify(src)}, doraise=True); p.compile(${JSON.stringify(hashed)}, doraise=True, invalidation_mode=p.PycInvalidationMode.CHECKED_HASH)`]);
        const cacheDir = path.join(dir, '__pycache__');
        const listing = (): string[] => fs.readdirSync(cacheDir).map((f) => `${f}:${fs.statSync(path.join(cacheDir, f)).mtimeMs}`).sort();
        const before = listing();
        let [a, b] = await dump(helper, { files: [src, hashed] });
        assert.equal(a.load, 'pyc');
        assert.equal(b.load, 'pyc');
        // New content, a different size and a later mtime: both caches are stale.
        const later = new Date(Date.now() + 5000);
        fs.writeFileSync(src, 'def new_name():\n    return 22\n');
        fs.utimesSync(src, later, later);
        fs.writeFileSync(hashed, 'def new_name():\n    return 22\n');
        [a, b] = await dump(helper, { files: [src, hashed] });
        assert.equal(a.load, 'compile');
        assert.equal(b.load, 'compile');
        assert.ok((a.codes![0] as CompactCode).names.includes('new_name'));
        assert.ok((b.codes![0] as CompactCode).names.includes('new_name'));
        assert.deepEqual(listing(), before, 'the helper wrote bytecode files');
      });

      await t.test('split records: function bodies apart (stubs in their place), the same code objects, simulated lazily to the same summary', async () => {
        const files = [path.join(PKG, 'natives.py'), path.join(PKG, 'core.py')];
        const whole = await dump(helper, { files, modules: ['json.decoder', 'contextlib'] });
        const split = await dump(helper, { files, modules: ['json.decoder', 'contextlib'], split: true });
        assert.equal(split.length, whole.length);
        for (let m = 0; m < whole.length; m++) {
          const a = whole[m];
          const b = split[m];
          assert.ok(a.codes && b.codes && b.lazyCodes !== undefined, `${a.name}: no split`);
          const bodies = JSON.parse(b.lazyCodes!) as CompactCode[];
          const stubs = b.codes.map((c, i) => [c, i] as const).filter(([c]) => 'lazy' in c && c.lazy);
          assert.equal(stubs.length, b.lazy);
          assert.equal(bodies.length, stubs.length);
          // Module code (0) and class bodies stay; every function body (CO_OPTIMIZED) goes apart.
          assert.ok(!('lazy' in b.codes[0]));
          const merged = b.codes.slice() as CompactCode[];
          stubs.forEach(([stub, i], k) => {
            assert.equal(stub.flags & 1, 1, `${a.name}: code ${i} is not a function`);
            assert.equal(stub.name, bodies[k].name);
            merged[i] = bodies[k];
          });
          assert.deepEqual(merged, a.codes, `${a.name}: split code objects differ from the whole ones`);
          // Lazy simulation, completed, ends where the whole simulation does.
          const input = { module: a.name, file: a.file ?? '', isPackage: !!a.isPackage, decoder, python: helper.info };
          const eager = simulateModule({ ...input, codes: decoder.decodeAll(a.codes as CompactCode[]) });
          const lazy = simulateModuleLazily({ ...input, codes: decoder.decodeEntries(b.codes), entries: b.codes, lazyGlobals: b.lazyGlobals }, b.lazyCodes);
          assert.ok(lazy.pending?.pending, `${a.name}: nothing waited`);
          assert.equal(lazy.summary.complete, false);
          assert.ok(lazy.summary.stats.instructions < eager.stats.instructions);
          lazy.pending!.complete();
          assert.equal(lazy.summary.complete, true);
          const shape = (s: typeof eager) =>
            JSON.stringify({
              sites: s.sites.map((x) => [x.kind, x.code, x.line, x.col, x.endLine, x.endCol, describe(x.callee), x.op ?? '']),
              imports: s.imports.map((x) => [x.module, x.scope, x.line, x.code, x.fromlist]),
              defs: s.defs.map((d) => d && [d.qualname, d.kind, d.line, d.parent, d.decorators.map((e) => describe(e)), d.returns ? describe(d.returns) : null]),
              classes: s.classes.map((c) => [c.qualname, [...c.members.keys()], [...c.instanceAttrs.keys()]]),
              namespace: [...s.namespace.keys()],
              globalStores: [...s.globalStores.keys()],
              stats: [s.stats.codes, s.stats.instructions, s.stats.unreachableCodes, s.stats.desync, s.stats.effectMismatches],
            });
          assert.equal(shape(lazy.summary), shape(eager), `${a.name}: lazy simulation differs`);
        }
        // Globals a function body stores are announced with the record (fixpkg.natives: `global _libc`).
        const natives = split.find((r) => r.name === 'fixpkg.natives');
        assert.deepEqual(natives?.lazyGlobals, ['_libc']);
      });

      await t.test('a syntax error is data, with its position', async () => {
        const [r] = await dump(helper, { files: [path.join(PKG, 'broken.py')] });
        assert.equal(r.kind, 'python');
        assert.equal(r.codes, undefined);
        assert.equal(r.syntaxError?.line, 6);
        assert.ok((r.syntaxError?.column ?? 0) > 0);
        assert.ok(r.syntaxError!.message.length > 0);
      });

      await t.test('unchanged modules come back without code when the caller knows them', async () => {
        const [first] = await dump(helper, { modules: ['json.decoder'] });
        const [again] = await dump(helper, { modules: ['json.decoder'], known: { 'json.decoder': [first.file!, first.size!, first.mtimeNs!] } });
        assert.equal(again.unchanged, true);
        assert.equal(again.codes, undefined);
        const [moved] = await dump(helper, { modules: ['json.decoder'], known: { 'json.decoder': ['/elsewhere.py', first.size!, first.mtimeNs!] } });
        assert.equal(moved.unchanged, undefined);
        assert.ok(moved.codes?.length);
      });
    } finally {
      helper.close();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
}

test('the helper answers malformed requests with an error record and keeps serving', { skip: skipUnless(fs.existsSync('/usr/bin/python3'), 'no /usr/bin/python3') }, async () => {
  const child = spawn('/usr/bin/python3', [defaultHelperPath(), '--serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  const done = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let k;
      while ((k = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, k));
        buf = buf.slice(k + 1);
        const last = JSON.parse(lines[lines.length - 1]) as { type: string; id?: number };
        if (last.type === 'done' && last.id === 7) resolve();
      }
    });
  });
  child.stdin.write('this is not json\n');
  child.stdin.write('[1, 2]\n');
  child.stdin.write(JSON.stringify({ id: 6, op: 'frobnicate' }) + '\n');
  child.stdin.write(JSON.stringify({ id: 7, op: 'dump', modules: ['json'] }) + '\n');
  await done;
  child.stdin.end();
  const records = lines.map((l) => JSON.parse(l) as { type: string; id?: number | null; name?: string });
  assert.equal(records[0].type, 'hello');
  assert.equal(records.filter((r) => r.type === 'error').length, 3);
  assert.ok(records.some((r) => r.type === 'module' && r.name === 'json' && r.id === 7));
  await new Promise((r) => child.once('exit', r));
});
