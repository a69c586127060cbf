// The host collector: the source host's CPU model, vendor and canonical feature flags from /proc/cpuinfo,
// plus a probe — a tiny static ELF written from bytes and run in a throwaway process — that executes
// `xtest` (its own feature, decided by whether it faults) and reads the CPUID leaves behind most features.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fromSystemError } from '../errors';
import type { Vendor } from '../report';
import { CPUID_BITS, CPUINFO_HIDDEN, parseCpuinfo, reconcileHostFeatures } from './cpuinfo';
import type { Feature } from './vocabulary';
import { EI_CLASS, EI_DATA, EI_VERSION, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_X86_64, ET_EXEC, EV_CURRENT, PF_R, PF_X, PT_LOAD } from '../elf/elfConstants';

export interface HostInfo {
  /** CPU model name from /proc/cpuinfo. */
  cpu: string;
  vendor: Vendor;
  /**
   * Canonical features of the host: /proc/cpuinfo flags that are canonical features, plus features
   * /proc/cpuinfo never prints (CPUINFO_HIDDEN) whose CPUID bit the probe read as 1.
   */
  flags: Set<Feature>;
  /** Whether `xtest` executes here. When the probe could not run this is true (see probeError). */
  xtest: boolean;
  /** Why the probe failed; the host is then assumed to have xtest (keeping a requirement is the safe side). */
  probeError?: string;
  /** The features added to `flags` from CPUID because /proc/cpuinfo hides them. */
  fromCpuid: Feature[];
  /**
   * Features whose CPUID bit the probe read as 1 but which the kernel does not print although it could:
   * masked by the kernel or the hypervisor, so not in `flags` (absent for compatibility), though their
   * instructions may execute. Only the leaves the probe reads are known (1, 7.0, 7.1, 0x80000001).
   */
  masked: Feature[];
}

/** Raw CPUID words read by the probe, each [eax, ebx, ecx, edx]. */
export interface ProbeCpuid {
  /** CPUID(0): eax is the highest basic leaf. */
  leaf0: number[];
  leaf7: number[];
  leaf7s1: number[];
  /** CPUID(1), with EBX's initial APIC ID (bits 31:24, the core the probe ran on) cleared. */
  leaf1: number[];
  /** CPUID(0x80000001), which every x86-64 CPU has (its LM bit is what makes it one). */
  ext1: number[];
}

export interface ProbeResult {
  xtest: boolean;
  cpuid?: ProbeCpuid;
  /** Set when the probe did not run to a clear answer; `xtest` is then true (conservative). */
  error?: string;
}

const BASE_VADDR = 0x400000;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
const CODE_OFFSET = EHDR_SIZE + PHDR_SIZE;

/**
 * The probe's machine code (x86-64, hand-assembled; test/unit/host.test.ts disassembles it with objdump):
 *   sub rsp, 96
 *   xor eax, eax ; xor ecx, ecx ; cpuid ; mov [rsp+0..12], eax/ebx/ecx/edx      ; CPUID(0)
 *   mov eax, 7   ; xor ecx, ecx ; cpuid ; mov [rsp+16..28], eax/ebx/ecx/edx     ; CPUID(7,0)
 *   mov eax, 7   ; mov ecx, 1   ; cpuid ; mov [rsp+32..44], eax/ebx/ecx/edx     ; CPUID(7,1)
 *   mov eax, 1   ; xor ecx, ecx ; cpuid ; mov [rsp+48..60], eax/ebx/ecx/edx     ; CPUID(1)
 *   mov eax, 0x80000001 ; xor ecx, ecx ; cpuid ; mov [rsp+64..76], ...          ; CPUID(0x80000001)
 *   mov eax, 1 ; mov edi, 1 ; mov rsi, rsp ; mov edx, 80 ; syscall               ; write(1, rsp, 80)
 *   xtest                                                                        ; SIGILL here if absent
 *   mov eax, 60 ; xor edi, edi ; syscall                                         ; exit(0)
 */
export const PROBE_CODE: readonly number[] = [
  0x48, 0x83, 0xec, 0x60,
  0x31, 0xc0, 0x31, 0xc9, 0x0f, 0xa2,
  0x89, 0x04, 0x24, 0x89, 0x5c, 0x24, 0x04, 0x89, 0x4c, 0x24, 0x08, 0x89, 0x54, 0x24, 0x0c,
  0xb8, 0x07, 0x00, 0x00, 0x00, 0x31, 0xc9, 0x0f, 0xa2,
  0x89, 0x44, 0x24, 0x10, 0x89, 0x5c, 0x24, 0x14, 0x89, 0x4c, 0x24, 0x18, 0x89, 0x54, 0x24, 0x1c,
  0xb8, 0x07, 0x00, 0x00, 0x00, 0xb9, 0x01, 0x00, 0x00, 0x00, 0x0f, 0xa2,
  0x89, 0x44, 0x24, 0x20, 0x89, 0x5c, 0x24, 0x24, 0x89, 0x4c, 0x24, 0x28, 0x89, 0x54, 0x24, 0x2c,
  0xb8, 0x01, 0x00, 0x00, 0x00, 0x31, 0xc9, 0x0f, 0xa2,
  0x89, 0x44, 0x24, 0x30, 0x89, 0x5c, 0x24, 0x34, 0x89, 0x4c, 0x24, 0x38, 0x89, 0x54, 0x24, 0x3c,
  0xb8, 0x01, 0x00, 0x00, 0x80, 0x31, 0xc9, 0x0f, 0xa2,
  0x89, 0x44, 0x24, 0x40, 0x89, 0x5c, 0x24, 0x44, 0x89, 0x4c, 0x24, 0x48, 0x89, 0x54, 0x24, 0x4c,
  0xb8, 0x01, 0x00, 0x00, 0x00, 0xbf, 0x01, 0x00, 0x00, 0x00, 0x48, 0x89, 0xe6, 0xba, 0x50, 0x00, 0x00, 0x00, 0x0f, 0x05,
  0x0f, 0x01, 0xd6,
  0xb8, 0x3c, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05,
];

/** Bytes the probe writes to stdout: five CPUID results of four 32-bit registers. */
const PROBE_OUTPUT_SIZE = 80;

/** A minimal static ELF64 executable: ELF header, one PT_LOAD (R+X) mapping the whole file, the code. */
export function buildProbeElf(code: readonly number[] = PROBE_CODE): Buffer {
  const size = CODE_OFFSET + code.length;
  const b = Buffer.alloc(size);
  ELFMAG.forEach((v, i) => (b[i] = v));
  b[EI_CLASS] = ELFCLASS64;
  b[EI_DATA] = ELFDATA2LSB;
  b[EI_VERSION] = EV_CURRENT;
  b.writeUInt16LE(ET_EXEC, 16); // e_type
  b.writeUInt16LE(EM_X86_64, 18); // e_machine
  b.writeUInt32LE(EV_CURRENT, 20); // e_version
  b.writeBigUInt64LE(BigInt(BASE_VADDR + CODE_OFFSET), 24); // e_entry
  b.writeBigUInt64LE(BigInt(EHDR_SIZE), 32); // e_phoff
  b.writeBigUInt64LE(0n, 40); // e_shoff: no section headers
  b.writeUInt32LE(0, 48); // e_flags
  b.writeUInt16LE(EHDR_SIZE, 52); // e_ehsize
  b.writeUInt16LE(PHDR_SIZE, 54); // e_phentsize
  b.writeUInt16LE(1, 56); // e_phnum
  b.writeUInt16LE(64, 58); // e_shentsize
  b.writeUInt16LE(0, 60); // e_shnum
  b.writeUInt16LE(0, 62); // e_shstrndx
  const ph = EHDR_SIZE;
  b.writeUInt32LE(PT_LOAD, ph); // p_type
  b.writeUInt32LE(PF_R | PF_X, ph + 4); // p_flags
  b.writeBigUInt64LE(0n, ph + 8); // p_offset
  b.writeBigUInt64LE(BigInt(BASE_VADDR), ph + 16); // p_vaddr
  b.writeBigUInt64LE(BigInt(BASE_VADDR), ph + 24); // p_paddr
  b.writeBigUInt64LE(BigInt(size), ph + 32); // p_filesz
  b.writeBigUInt64LE(BigInt(size), ph + 40); // p_memsz
  b.writeBigUInt64LE(0x1000n, ph + 48); // p_align
  Buffer.from(code).copy(b, CODE_OFFSET);
  return b;
}

/** Directories to write the probe to, in order; the first may be mounted noexec. */
function probeDirs(): string[] {
  const dirs = [os.tmpdir(), '/dev/shm', process.env.XDG_RUNTIME_DIR, path.join(os.homedir(), '.cache')];
  return [...new Set(dirs.filter((d): d is string => !!d && fs.existsSync(d)))];
}

interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  spawnError?: NodeJS.ErrnoException;
}

function runOnce(file: string, timeoutMs: number): Promise<RunOutcome> {
  return new Promise((resolve) => {
    execFile(file, [], { encoding: 'buffer', timeout: timeoutMs, killSignal: 'SIGKILL', env: {} }, (err, stdout) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals | null }) | null;
      if (e && typeof e.code === 'string') resolve({ code: null, signal: null, stdout: Buffer.alloc(0), spawnError: e });
      else resolve({ code: e ? ((e.code as number | undefined) ?? null) : 0, signal: e?.signal ?? null, stdout: stdout as Buffer });
    });
  });
}

function parseProbeOutput(out: Buffer): ProbeCpuid | undefined {
  if (out.length !== PROBE_OUTPUT_SIZE) return undefined;
  const words = Array.from({ length: 20 }, (_, i) => out.readUInt32LE(i * 4));
  // CPUID(1).EBX[31:24] is the initial APIC ID of the core the probe happened to run on: not a fact of the
  // host (two runs differ), so it is cleared.
  words[13] = (words[13] & 0x00ffffff) >>> 0;
  return { leaf0: words.slice(0, 4), leaf7: words.slice(4, 8), leaf7s1: words.slice(8, 12), leaf1: words.slice(12, 16), ext1: words.slice(16, 20) };
}

/**
 * Runs the probe once: writes the ELF to a fresh private directory, runs it with a timeout, removes it.
 * Exit 0 → xtest executes; SIGILL → it faults. Anything else is an error (xtest then assumed present).
 * `code` replaces the probe's machine code (tests use it to exercise the fault and timeout paths).
 */
export async function runProbe(options: { timeoutMs?: number; code?: readonly number[] } = {}): Promise<ProbeResult> {
  // A watchdog, not a wait: the probe is straight-line code that ends in microseconds, but on a loaded
  // machine starting any process can take seconds, and a timeout here would wrongly report a probe error.
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { xtest: true, error: `the probe needs Linux on x86-64 (this is ${process.platform}/${process.arch})` };
  }
  const elf = buildProbeElf(options.code);
  const errors: string[] = [];
  for (const base of probeDirs()) {
    try {
      const outcome = await runInFreshDir(base, 'xtest-probe', elf, timeoutMs);
      if (outcome.spawnError) {
        errors.push(`${base}: ${outcome.spawnError.code ?? outcome.spawnError.message}`);
        continue;
      }
      const cpuid = parseProbeOutput(outcome.stdout);
      if (outcome.code === 0 && cpuid) return { xtest: true, cpuid };
      if (outcome.signal === 'SIGILL' && cpuid) return { xtest: false, cpuid };
      // It ran but gave no clear answer: another directory would not change that.
      errors.push(`${base}: probe ended with ${outcome.signal ?? `exit code ${outcome.code}`} after writing ${outcome.stdout.length} bytes`);
      break;
    } catch (e) {
      errors.push(`${base}: ${(e as Error).message}`);
    }
  }
  return { xtest: true, error: `could not run the CPU probe (${errors.join('; ') || 'no writable directory'})` };
}

const probeCache = new Map<string, Promise<ProbeResult>>();

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

/** The probe's answer, computed once per boot (kept in memory only, keyed by the kernel's boot_id). */
export function probeHost(): Promise<ProbeResult> {
  const key = bootId();
  let p = probeCache.get(key);
  if (!p) {
    p = runProbe();
    probeCache.set(key, p);
  }
  return p;
}

/**
 * A feature's CPUID bit as the probe read it: true/false for the leaves it reads (leaf 7 and its subleaf 1
 * only when the maxima say they exist), undefined for the others (0xd, 0x80000008, ...).
 */
export function probedCpuidBit(cpuid: ProbeCpuid): (f: Feature) => boolean | undefined {
  const regs = ['eax', 'ebx', 'ecx', 'edx'];
  const maxLeaf = cpuid.leaf0[0];
  return (f) => {
    const bit = CPUID_BITS.get(f);
    if (!bit) return undefined;
    let words: number[] | undefined;
    if (bit.leaf === 1 && bit.subleaf === 0) words = cpuid.leaf1;
    else if (bit.leaf === 0x80000001 && bit.subleaf === 0) words = cpuid.ext1;
    else if (bit.leaf === 7 && maxLeaf >= 7 && bit.subleaf === 0) words = cpuid.leaf7;
    else if (bit.leaf === 7 && maxLeaf >= 7 && bit.subleaf === 1 && cpuid.leaf7[0] >= 1) words = cpuid.leaf7s1;
    if (!words) return undefined;
    return ((words[regs.indexOf(bit.register)] >>> bit.bit) & 1) === 1;
  };
}

/** Features /proc/cpuinfo hides whose CPUID bit the probe read as 1 (leaves checked against the maxima). */
export function hiddenFeaturesFromCpuid(cpuid: ProbeCpuid): Feature[] {
  const bitOf = probedCpuidBit(cpuid);
  return [...CPUINFO_HIDDEN].filter((f) => bitOf(f) === true).sort();
}

export interface CollectOptions {
  /** Read this file instead of /proc/cpuinfo. */
  cpuinfoPath?: string;
  /**
   * Run the probe (default: only when reading the real /proc/cpuinfo). Without it xtest is assumed present
   * and hidden features are not read.
   */
  probe?: boolean;
}

/** Collects the source host's CPU model, vendor, canonical flags and the xtest answer. */
export async function collectHost(options: CollectOptions = {}): Promise<HostInfo> {
  const file = options.cpuinfoPath ?? '/proc/cpuinfo';
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw fromSystemError(e, file);
  }
  const info = parseCpuinfo(text, file);
  // The probe tells about the machine we run on, so by default it runs only with the real /proc/cpuinfo.
  const runIt = options.probe ?? options.cpuinfoPath === undefined;
  const probe: ProbeResult = runIt ? await probeHost() : { xtest: true, error: 'the probe was not run' };
  // The kernel's flags decide; CPUID adds only what the kernel never prints, and names what it masks.
  const view = reconcileHostFeatures(info.flags, probe.cpuid ? probedCpuidBit(probe.cpuid) : undefined);
  const host: HostInfo = { cpu: info.model, vendor: info.vendor, flags: view.features, xtest: probe.xtest, fromCpuid: view.fromCpuid, masked: view.masked };
  if (probe.error) host.probeError = probe.error;
  return host;
}

/** The host's features as one set: its flags plus `xtest` when it executes. */
export function hostFeatures(host: HostInfo): Set<Feature> {
  const s = new Set(host.flags);
  if (host.xtest) s.add('xtest');
  return s;
}

/** The probe program's epilogue: exit(0). */
const EXIT_0 = [0xb8, 0x3c, 0x00, 0x00, 0x00, 0x31, 0xff, 0x0f, 0x05];

/**
 * One instruction per feature that a probe can execute to tell a feature the CPU lacks (the instruction
 * faults: SIGILL) from one the CPUID only hides (it runs), followed by exit(0). Operands are registers or
 * the stack. LZCNT is told by its result instead: on a CPU without it the same bytes run as BSR, so the probe
 * exits with lzcnt(1) = 31 there, bsr(1) = 0 elsewhere. test/unit/host.test.ts decodes each instruction
 * and checks that it needs exactly its feature.
 */
export const FEATURE_PROBES: Readonly<Record<Feature, readonly number[]>> = {
  rdseed: [0x0f, 0xc7, 0xf8], // rdseed eax
  rdrand: [0x0f, 0xc7, 0xf0], // rdrand eax
  adx: [0x66, 0x0f, 0x38, 0xf6, 0xc0], // adcx eax, eax
  bmi1: [0xc4, 0xe2, 0x78, 0xf2, 0xc0], // andn eax, eax, eax
  bmi2: [0xc4, 0xe2, 0x78, 0xf5, 0xc0], // bzhi eax, eax, eax
  movbe: [0x0f, 0x38, 0xf0, 0x04, 0x24], // movbe eax, [rsp]
  sha_ni: [0x0f, 0x38, 0xc9, 0xc0], // sha1msg1 xmm0, xmm0
  aes: [0x66, 0x0f, 0x38, 0xdc, 0xc0], // aesenc xmm0, xmm0
  pclmulqdq: [0x66, 0x0f, 0x3a, 0x44, 0xc0, 0x00], // pclmulqdq xmm0, xmm0, 0
  gfni: [0x66, 0x0f, 0x38, 0xcf, 0xc0], // gf2p8mulb xmm0, xmm0
  sse4a: [0x66, 0x0f, 0x78, 0xc0, 0x00, 0x00], // extrq xmm0, 0, 0
  clflushopt: [0x66, 0x0f, 0xae, 0x3c, 0x24], // clflushopt [rsp]
  clwb: [0x66, 0x0f, 0xae, 0x34, 0x24], // clwb [rsp]
  rdpid: [0xf3, 0x0f, 0xc7, 0xf8], // rdpid rax
  avx_vnni: [0xc4, 0xe2, 0x7d, 0x50, 0xc0], // {vex} vpdpbusd ymm0, ymm0, ymm0
  vaes: [0xc4, 0xe2, 0x7d, 0xdc, 0xc0], // vaesenc ymm0, ymm0, ymm0
  vpclmulqdq: [0xc4, 0xe3, 0x7d, 0x44, 0xc0, 0x00], // vpclmulqdq ymm0, ymm0, ymm0, 0
  avx512bw: [0x62, 0xf2, 0x7e, 0x48, 0x29, 0xc0], // vpmovb2m k0, zmm0
  avx512cd: [0x62, 0xf2, 0x7d, 0x48, 0xc4, 0xc0], // vpconflictd zmm0, zmm0
  avx512dq: [0x62, 0xf2, 0xfd, 0x48, 0x40, 0xc0], // vpmullq zmm0, zmm0, zmm0
  avx512vl: [0x62, 0xf1, 0x7d, 0x28, 0xdb, 0xc0], // vpandd ymm0, ymm0, ymm0
  avx512_vnni: [0x62, 0xf2, 0x7d, 0x48, 0x50, 0xc0], // vpdpbusd zmm0, zmm0, zmm0
  avx512vbmi: [0x62, 0xf2, 0x7d, 0x48, 0x8d, 0xc0], // vpermb zmm0, zmm0, zmm0
  avx512_bf16: [0x62, 0xf2, 0x7e, 0x48, 0x52, 0xc0], // vdpbf16ps zmm0, zmm0, zmm0
  avx512_fp16: [0x62, 0xf5, 0x7c, 0x48, 0x58, 0xc0], // vaddph zmm0, zmm0, zmm0
  avx512ifma: [0x62, 0xf2, 0xfd, 0x48, 0xb4, 0xc0], // vpmadd52luq zmm0, zmm0, zmm0
  avx512_vbmi2: [0x62, 0xf3, 0xfd, 0x48, 0x70, 0xc0, 0x00], // vpshldw zmm0, zmm0, zmm0, 0
  avx512_bitalg: [0x62, 0xf2, 0x7d, 0x48, 0x54, 0xc0], // vpopcntb zmm0, zmm0
  avx512_vpopcntdq: [0x62, 0xf2, 0x7d, 0x48, 0x55, 0xc0], // vpopcntd zmm0, zmm0
  avx512_vp2intersect: [0x62, 0xf2, 0x7f, 0x48, 0x68, 0xc0], // vp2intersectd k0, zmm0, zmm0
};

/** LZCNT's probe: mov eax, 1; lzcnt eax, eax; mov edi, eax; exit(edi). */
const LZCNT_PROBE = [0xb8, 0x01, 0x00, 0x00, 0x00, 0xf3, 0x0f, 0xbd, 0xc0, 0x89, 0xc7, 0xb8, 0x3c, 0x00, 0x00, 0x00, 0x0f, 0x05];

/** The whole probe program of a feature (its instruction, then exit), or undefined when there is none. */
export function featureProbeCode(f: Feature): readonly number[] | undefined {
  if (f === 'abm') return LZCNT_PROBE;
  const insn = FEATURE_PROBES[f];
  return insn ? [...insn, ...EXIT_0] : undefined;
}

/** Runs a probe program once in a throwaway process (as runProbe): its exit code or signal, or undefined. */
async function runProbeCode(code: readonly number[], timeoutMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  const elf = buildProbeElf(code);
  for (const base of probeDirs()) {
    try {
      const outcome = await runInFreshDir(base, 'feature-probe', elf, timeoutMs);
      if (outcome.spawnError) continue;
      return { code: outcome.code, signal: outcome.signal };
    } catch {
      // Try the next directory (this one may be read-only or mounted noexec).
    }
  }
  return undefined;
}

/**
 * Writes a probe ELF as `name` into a fresh private directory under `base`, runs it once with a timeout
 * (retrying briefly on ETXTBSY: another thread forked while the file was open for writing) and removes the
 * directory. Throws when the directory or the file cannot be made.
 */
async function runInFreshDir(base: string, name: string, elf: Buffer | Uint8Array, timeoutMs: number): Promise<Awaited<ReturnType<typeof runOnce>>> {
  let dir: string | undefined;
  try {
    dir = fs.mkdtempSync(path.join(base, 'pygration-probe-'));
    const file = path.join(dir, name);
    fs.writeFileSync(file, elf, { mode: 0o700 });
    let outcome = await runOnce(file, timeoutMs);
    for (let i = 0; i < 3 && outcome.spawnError?.code === 'ETXTBSY'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      outcome = await runOnce(file, timeoutMs);
    }
    return outcome;
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

const featureProbeCache = new Map<string, Promise<boolean | undefined>>();

/**
 * Whether this machine executes an instruction of each feature, whatever its CPUID says: true (it runs),
 * false (it faults, or for LZCNT: runs as BSR), absent from the map when there is no probe for the feature or
 * the probe gave no clear answer. Each feature is probed once per boot.
 */
export async function probeFeatures(features: Iterable<Feature>): Promise<Map<Feature, boolean>> {
  const out = new Map<Feature, boolean>();
  for (const f of new Set(features)) {
    const code = featureProbeCode(f);
    if (!code) continue;
    const key = `${bootId()}:${f}`;
    let p = featureProbeCache.get(key);
    if (!p) {
      p = runProbeCode(code).then((r) => {
        if (!r) return undefined;
        if (r.signal === 'SIGILL') return false;
        if (f === 'abm') return r.code === 31 ? true : r.code === 0 ? false : undefined;
        return r.code === 0 ? true : undefined;
      });
      featureProbeCache.set(key, p);
    }
    const v = await p;
    if (v !== undefined) out.set(f, v);
  }
  return out;
}
