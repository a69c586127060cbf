// ELF fuzzing for the tests: seeded, structure-aware mutations of real ELF files (header, section, segment,
// symbol, dynamic and relocation fields set to boundary values, plus byte flips), the ELF reader and the
// engine (EPT over a static address space, full scan) run on one file, and a worker-thread watchdog.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

// ------------------------------------------------------------------ deterministic randomness

/** mulberry32: a small seeded PRNG, so a failing case is reproduced from its seed alone. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INTERESTING: bigint[] = [
  0n,
  1n,
  7n,
  8n,
  0x7fn,
  0xffn,
  0x1000n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0xff000000n,
  1n << 32n,
  (1n << 53n) - 1n,
  1n << 53n,
  1n << 63n,
  (1n << 64n) - 1n,
];

// ------------------------------------------------------------------ ELF layout (read raw, not with the reader under test)

interface Table {
  offset: number;
  count: number;
  entsize: number;
  kind: 'symbols' | 'rela' | 'dynamic';
}

interface Layout {
  phoff: number;
  phnum: number;
  shoff: number;
  shnum: number;
  tables: Table[];
  sectionTypes: number[];
}

function layoutOf(b: Buffer): Layout {
  const phoff = Number(b.readBigUInt64LE(32));
  const shoff = Number(b.readBigUInt64LE(40));
  const phnum = b.readUInt16LE(56);
  const shnum = b.readUInt16LE(60);
  const tables: Table[] = [];
  const sectionTypes: number[] = [];
  for (let i = 0; i < shnum && shoff + (i + 1) * 64 <= b.length; i++) {
    const o = shoff + i * 64;
    const type = b.readUInt32LE(o + 4);
    sectionTypes.push(type);
    const offset = Number(b.readBigUInt64LE(o + 24));
    const size = Number(b.readBigUInt64LE(o + 32));
    if (offset + size > b.length) continue;
    if (type === 2 || type === 11) tables.push({ offset, count: Math.floor(size / 24), entsize: 24, kind: 'symbols' });
    else if (type === 4) tables.push({ offset, count: Math.floor(size / 24), entsize: 24, kind: 'rela' });
    else if (type === 6) tables.push({ offset, count: Math.floor(size / 16), entsize: 16, kind: 'dynamic' });
  }
  return { phoff, phnum, shoff, shnum, tables, sectionTypes };
}

/** Index of the first section of type `type` (SHT_*), or -1. */
export function sectionIndexOfType(b: Buffer, type: number): number {
  return layoutOf(b).sectionTypes.indexOf(type);
}

/** Sets section `i`'s 64-bit field at `field` (16 addr, 24 offset, 32 size, 56 entsize). */
export function setSectionField(b: Buffer, i: number, field: number, value: bigint): void {
  const l = layoutOf(b);
  b.writeBigUInt64LE(value, l.shoff + i * 64 + field);
}

/** Calls `f` with the file offset of every symbol of the .dynsym and .symtab tables. */
export function forEachSymbol(b: Buffer, f: (offset: number) => void): void {
  for (const t of layoutOf(b).tables) if (t.kind === 'symbols') for (let i = 1; i < t.count; i++) f(t.offset + i * t.entsize);
}

/**
 * A mutated copy of `original`: `rounds` (1-4, from the seed) changes, each a boundary value in one field of
 * a section header, a program header, a symbol, a relocation or a dynamic entry, or a few flipped bytes.
 * Returns the bytes and what was changed (for the failure message).
 */
export function mutate(original: Buffer, seed: number): { bytes: Buffer; changes: string[] } {
  const b = Buffer.from(original);
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const value = (old: bigint): bigint => {
    const k = r();
    if (k < 0.6) return pick(INTERESTING);
    if (k < 0.8) return (old + BigInt(Math.floor(r() * 0x2000)) - 0x1000n) & ((1n << 64n) - 1n);
    return BigInt(Math.floor(r() * 2 ** 32)) * BigInt(Math.floor(r() * 2 ** 32));
  };
  const changes: string[] = [];
  const l = layoutOf(original);
  const rounds = 1 + Math.floor(r() * 4);
  for (let n = 0; n < rounds; n++) {
    const kind = r();
    if (kind < 0.3 && l.shnum > 0) {
      const i = Math.floor(r() * l.shnum);
      const field = pick([4, 8, 16, 24, 32, 40, 56] as const);
      const o = l.shoff + i * 64 + field;
      if (o + 8 > b.length) continue;
      if (field === 4 || field === 40) {
        const v = field === 4 ? pick([1, 2, 3, 4, 6, 8, 11, 14, 15, 16, 0x6ffffff6, 0x6fffffff, r() * 2 ** 32 >>> 0]) : Math.floor(r() * (l.shnum + 2));
        b.writeUInt32LE(v >>> 0, o);
        changes.push(`section ${i} ${field === 4 ? 'type' : 'link'} = ${v >>> 0}`);
      } else {
        const v = value(b.readBigUInt64LE(o));
        b.writeBigUInt64LE(v, o);
        changes.push(`section ${i} field +${field} = 0x${v.toString(16)}`);
      }
    } else if (kind < 0.45 && l.phnum > 0) {
      const i = Math.floor(r() * l.phnum);
      const field = pick([8, 16, 32, 40] as const);
      const o = l.phoff + i * 56 + field;
      if (o + 8 > b.length) continue;
      const v = value(b.readBigUInt64LE(o));
      b.writeBigUInt64LE(v, o);
      changes.push(`segment ${i} field +${field} = 0x${v.toString(16)}`);
    } else if (kind < 0.85 && l.tables.length > 0) {
      const t = pick(l.tables);
      if (t.count < 2) continue;
      const i = 1 + Math.floor(r() * (t.count - 1));
      const e = t.offset + i * t.entsize;
      if (t.kind === 'symbols') {
        const what = r();
        if (what < 0.2) {
          b.writeUInt16LE(pick([0, 1, 0xfff1, 0xfff2, 0xffff, Math.floor(r() * 40)]), e + 6);
          changes.push(`symbol @${e} shndx = ${b.readUInt16LE(e + 6)}`);
        } else if (what < 0.35) {
          b.writeUInt8(Math.floor(r() * 256), e + 4);
          changes.push(`symbol @${e} info = ${b.readUInt8(e + 4)}`);
        } else {
          const field = what < 0.65 ? 8 : 16;
          const v = value(b.readBigUInt64LE(e + field));
          b.writeBigUInt64LE(v, e + field);
          changes.push(`symbol @${e} ${field === 8 ? 'value' : 'size'} = 0x${v.toString(16)}`);
        }
      } else {
        const field = t.kind === 'rela' ? pick([0, 8, 16] as const) : pick([0, 8] as const);
        const v = value(b.readBigUInt64LE(e + field));
        b.writeBigUInt64LE(v, e + field);
        changes.push(`${t.kind} @${e} field +${field} = 0x${v.toString(16)}`);
      }
    } else {
      const flips = 1 + Math.floor(r() * 8);
      for (let k = 0; k < flips; k++) {
        const o = Math.floor(r() * b.length);
        b[o] = Math.floor(r() * 256);
      }
      changes.push(`${flips} random byte(s)`);
    }
  }
  return { bytes: b, changes };
}

// ------------------------------------------------------------------ the watchdog

export interface CaseResult {
  /** 'ok', 'rejected' (a NativeError: the expected refusal of bad input), 'crash' (any other error) or 'hang'. */
  outcome: 'ok' | 'rejected' | 'crash' | 'hang';
  detail?: string;
  ms: number;
}

export interface CaseRequest {
  file: string;
  /** Run the engine (EPT over a static space, full scan) after the reader. */
  engine: boolean;
}

/**
 * Runs cases one after another in a worker thread. A case that does not finish within `limitMs` is a
 * hang: the worker is terminated (V8 interrupts even a busy loop) and a new one serves the next case.
 */
export class FuzzRunner {
  private worker?: Worker;
  private readonly script = path.join(__dirname, 'elfFuzzWorker.js');

  constructor(private readonly limitMs: number) {}

  async run(req: CaseRequest): Promise<CaseResult> {
    const w = (this.worker ??= new Worker(this.script));
    const started = Date.now();
    return new Promise<CaseResult>((resolve) => {
      const done = (res: CaseResult) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        resolve(res);
      };
      const onMessage = (m: { outcome: CaseResult['outcome']; detail?: string }) => done({ ...m, ms: Date.now() - started });
      const onError = (e: Error) => {
        this.worker = undefined;
        done({ outcome: 'crash', detail: `worker died: ${e.message}`, ms: Date.now() - started });
      };
      const timer = setTimeout(() => {
        this.worker = undefined;
        void w.terminate();
        done({ outcome: 'hang', detail: `no answer within ${this.limitMs} ms`, ms: Date.now() - started });
      }, this.limitMs);
      w.on('message', onMessage);
      w.once('error', onError);
      w.postMessage(req);
    });
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }
}

/** Writes `bytes` to a new file in `dir` (a new name per case: caches keyed by file identity never mix cases). */
export function writeCase(dir: string, name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}
