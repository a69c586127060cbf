// The IFUNC choices this host's dynamic linker made, read from our own process: for every shared object we
// have loaded ourselves (libc, libm, ...), each IRELATIVE slot holds the variant its resolver picked on this
// CPU. A static analysis of the same files can then follow the variant this host would run instead of
// counting every variant. Keyed by file identity, so a different file (another libc) never matches.

import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as C from '../elf/elfConstants';
import { openFileSource } from '../elf/byteSource';
import { ElfFile } from '../elf/elfFile';
import { NativeError } from '../errors';
import { ProcessView } from './processView';

/** For one file: resolver link-time address → chosen variant link-time address. */
export type IfuncChoices = ReadonlyMap<number, number>;

let cache: Map<string, IfuncChoices> | undefined;

/** dev:inode of a file, the key shared with /proc/self/maps entries. */
function fileKey(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

function load(): Map<string, IfuncChoices> {
  const out = new Map<string, IfuncChoices>();
  let view: ProcessView | undefined;
  try {
    view = new ProcessView(process.pid);
    // Our own executable (node) is never a file the analyses read, and its symbol table, which reading its
    // relocations parses, costs about 200 ms: only the shared libraries are read.
    const exe = fileKey(process.execPath);
    for (const m of view.modules()) {
      const key = fileKey(m.path);
      if (!key || key === exe || out.has(key)) continue;
      let elf;
      try {
        elf = m.elf;
      } catch (e) {
        if (e instanceof NativeError) continue;
        throw e;
      }
      const bias = m.loadBias;
      const choices = new Map<number, number>();
      for (const r of elf.relocations()) {
        if (r.type !== C.R_X86_64_IRELATIVE) continue;
        const v = view.readPointer(r.offset + bias);
        if (v !== undefined && v !== 0) choices.set(r.addend, v - bias);
      }
      if (choices.size > 0) out.set(key, choices);
    }
  } catch (e) {
    // Reading ourselves should always work; if it does not, static analyses fall back to every variant.
    if (!(e instanceof NativeError)) throw e;
  } finally {
    view?.close();
  }
  return out;
}

/** The choices for `file` (the same file this process has loaded, or probed), or undefined. */
export function hostIfuncChoices(file: string): IfuncChoices | undefined {
  cache ??= load();
  const key = fileKey(file);
  return key ? cache.get(key) : undefined;
}

interface ProbeRequest {
  libs: Array<{ file: string; key: string; elf: ElfFile; names: string[] }>;
  args: string[];
}

/**
 * Exported IFUNCs that no loaded object of ours has bound (libc's wcsrchr, say) are resolved by asking a
 * Python interpreter: ctypes looks symbols up through dlsym, which runs the resolver, and /proc/self/maps
 * gives the library's base. Only libraries that interpreter loads at start-up anyway (libc, libm) are
 * asked — loading others could run their constructors. The answers join the choices of hostIfuncChoices.
 */
export function probeExportedIfuncs(python: string): void {
  const request = probeRequest();
  if (!request) return;
  let text: string | undefined;
  try {
    text = execFileSync(python, request.args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    // No usable interpreter: keep counting every variant of these IFUNCs.
  }
  applyProbe(request, text);
}

/**
 * probeExportedIfuncs without blocking: the same probe in a child process, its answers added when it ends.
 * A language server starts it early so that the probe a static analysis needs is already done; it must
 * wait for it before making a StaticAddressSpace (until then the libraries count as probed).
 */
export function prefetchExportedIfuncs(python: string): Promise<void> {
  const request = probeRequest();
  if (!request) return Promise.resolve();
  return new Promise((resolve) => {
    execFile(python, request.args, { encoding: 'utf8', timeout: 10_000 }, (error, stdout) => {
      try {
        applyProbe(request, error ? undefined : stdout);
      } catch {
        // Keep counting every variant of these IFUNCs.
      }
      // A failed prefetch (this interpreter unusable) leaves the probe to probeExportedIfuncs with another.
      if (error) for (const l of request.libs) probed.delete(l.key);
      resolve();
    }).stdin?.end();
  });
}

/** The libraries still to probe (marked as probed from now on) and the interpreter's arguments, or undefined. */
function probeRequest(): ProbeRequest | undefined {
  cache ??= load();
  const libs: ProbeRequest['libs'] = [];
  for (const name of ['libc.so.6', 'libm.so.6']) {
    const file = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib64'].map((d) => `${d}/${name}`).find((f) => fs.existsSync(f));
    const key = file && fileKey(file);
    if (!file || !key || probed.has(key)) continue;
    probed.add(key);
    let elf: ElfFile;
    try {
      elf = ElfFile.open(openFileSource(fs.realpathSync(file)));
    } catch (e) {
      if (e instanceof NativeError) continue;
      throw e;
    }
    const names = [...new Set(elf.dynamicSymbols().filter((s) => s.defined && s.type === C.STT_GNU_IFUNC && s.name && !s.version?.hidden).map((s) => s.name))];
    libs.push({ file, key, elf, names });
  }
  if (libs.length === 0) return undefined;
  const script = [
    'import ctypes, json, os, sys',
    'req = json.loads(sys.argv[1]); out = {}',
    'maps = open("/proc/self/maps").read().splitlines()',
    'for lib in req:',
    '    real = os.path.realpath(lib["file"]); base = None',
    '    for l in maps:',
    '        p = l.split()',
    '        if len(p) >= 6 and int(p[2], 16) == 0 and os.path.realpath(p[5]) == real: base = int(p[0].split("-")[0], 16); break',
    '    if base is None: continue',
    '    h = ctypes.CDLL(lib["file"]); got = {}',
    '    for n in lib["names"]:',
    '        try: got[n] = ctypes.cast(getattr(h, n), ctypes.c_void_p).value - base',
    '        except Exception: pass',
    '    out[lib["file"]] = got',
    'print(json.dumps(out))',
  ].join('\n');
  return { libs, args: ['-I', '-S', '-c', script, JSON.stringify(libs.map((l) => ({ file: l.file, names: l.names })))] };
}

/** Adds the probe's answer (its standard output; undefined when it failed) to the choices, and closes the files. */
function applyProbe({ libs }: ProbeRequest, text: string | undefined): void {
  let answer: Record<string, Record<string, number>> | undefined;
  try {
    answer = text === undefined ? undefined : (JSON.parse(text) as Record<string, Record<string, number>>);
  } catch {
    answer = undefined;
  }
  for (const l of libs) {
    const got = answer?.[l.file];
    const first = l.elf.loadSegments()[0];
    if (got && first) {
      const firstPage = first.vaddr - (first.vaddr % 4096);
      const choices = new Map(cache!.get(l.key) ?? []);
      for (const [name, offset] of Object.entries(got)) {
        const sym = l.elf.lookupSymbol(name);
        if (sym && typeof offset === 'number') choices.set(sym.value, offset + firstPage);
      }
      cache!.set(l.key, choices);
    }
    l.elf.close();
  }
}

const probed = new Set<string>();
