// Runs an engine bundle (dist/serverMain.js, dist/cliMain.js) through a V8 code cache kept in the cache directory's
// v8/ folder: a new language server or CLI process then skips compiling 2–3 MB of JavaScript at start.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { defaultCacheDir } from './bytecode/diskCache';
// The same V8 flags as the bundle sets: a cache made under other flags is rejected.
import './jitFlags';

/**
 * Loads `file` as a CommonJS module whose parent is `parent`, with its compiled code from the cache when the cache
 * holds this exact file (keyed by its identity, the Node version and the architecture; V8 checks its own
 * version and flags again and rejects a mismatch). A missing or rejected cache entry is written once the bundle's
 * top level has run. Any failure of the cache (no cache directory, a read-only one) only costs the compile time.
 */
export function runBundle(file: string, parent: NodeModule): void {
  const source = fs.readFileSync(file, 'utf8');
  let cacheFile: string | undefined;
  try {
    cacheFile = cachePath(file);
  } catch {
    cacheFile = undefined;
  }
  let cachedData: Buffer | undefined;
  try {
    if (cacheFile) cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const m = new Module(file, parent);
  m.filename = file;
  const body = script.runInThisContext() as (exports: unknown, req: NodeRequire, module: Module, filename: string, dirname: string) => void;
  body.call(m.exports, m.exports, createRequire(file), m, file, path.dirname(file));
  m.loaded = true;
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) writeCache(cacheFile, script);
}

/**
 * Where the code cache of `file` lives, or undefined when caching is off ($PYGRATION_CACHE_DIR=''). Keyed by the
 * file's identity (device, inode, size, mtime in ns: a rebuild or an update writes a new file), as the module cache
 * is (bytecode/diskCache.ts); hashing the text cost 12 ms of the ~45 ms the cache saves.
 */
function cachePath(file: string): string | undefined {
  const dir = defaultCacheDir();
  if (!dir) return undefined;
  const st = fs.statSync(file, { bigint: true });
  const identity = [st.dev, st.ino, st.size, st.mtimeNs, process.version, process.arch].join('\0');
  const key = createHash('sha1').update(identity).digest('hex').slice(0, 16);
  return path.join(dir, 'v8', `${path.basename(file, '.js')}-${key}.bin`);
}

/**
 * Writes the cache atomically (a temporary file renamed), so that a concurrent start reads a whole entry or none, and
 * removes the entries of the same bundle's other builds (an update or a rebuild leaves one of 1–1.5 MB each time).
 */
function writeCache(cacheFile: string, script: vm.Script): void {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    const dir = path.dirname(cacheFile);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
    const bundle = path.basename(cacheFile).replace(/-[0-9a-f]{16}\.bin$/, '-');
    for (const f of fs.readdirSync(dir)) {
      if (f.startsWith(bundle) && /^\w+-[0-9a-f]{16}\.bin$/.test(f) && f !== path.basename(cacheFile)) fs.rmSync(path.join(dir, f), { force: true });
    }
  } catch {
    // A cache directory this user may not write (another user's HOME): the next start compiles again.
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // Nothing was written.
    }
  }
}
