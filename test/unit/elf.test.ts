// Tests of the ELF64 reader against real files: C fixtures built with gcc (PLT, -fno-plt, -z now, IFUNC,
// IBT .plt.sec, stripped, static), Debian's libc and python3, with readelf/objdump output as the oracle.

import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildC, haveCommand, FIXTURE_OUT } from '../helpers/fixtures';
import { ElfFile } from '../../native/src/elf/elfFile';
import { BufferByteSource, FileByteSource } from '../../native/src/elf/byteSource';
import { NativeError } from '../../native/src/errors';
import * as C from '../../native/src/elf/elfConstants';
import { skipOrFail, skipUnless } from '../helpers/skip';

const LIBC = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const PYTHON = '/usr/bin/python3.11';
const HAVE_TOOLS = haveCommand('readelf') && haveCommand('objdump') && haveCommand('strip');

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

/** Like run, but keeps stdout when the tool exits non-zero (readelf does when a dump has nothing to show). */
function runLenient(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r.stdout;
}

function openElf(file: string): ElfFile {
  return ElfFile.open(new FileByteSource(file));
}

// ------------------------------------------------------------------ oracle parsers (readelf / objdump)

interface OracleSection {
  index: number;
  name: string;
  addr: number;
  offset: number;
  size: number;
}

function readelfSections(file: string): OracleSection[] {
  const out: OracleSection[] = [];
  for (const line of run('readelf', ['-SW', file]).split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S+)\s+(\S+)\s+([0-9a-f]{16})\s+([0-9a-f]+)\s+([0-9a-f]+)/.exec(line);
    if (!m || m[1] === '0') continue;
    out.push({ index: Number(m[1]), name: m[2], addr: parseInt(m[4], 16), offset: parseInt(m[5], 16), size: parseInt(m[6], 16) });
  }
  return out;
}

interface OracleReloc {
  section: string;
  offset: number;
  type: string;
  symbol?: string;
  addend: number;
}

function readelfRelocs(file: string): OracleReloc[] {
  const out: OracleReloc[] = [];
  let section = '';
  for (const line of run('readelf', ['-rW', file]).split('\n')) {
    const s = /^Relocation section '([^']+)'/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    const m = /^([0-9a-f]{16})\s+[0-9a-f]{16}\s+R_X86_64_(\w+)\s+(?:[0-9a-f]{16}\s+(.*?)\s+([+-])\s+([0-9a-f]+)|([0-9a-f]+))?\s*$/.exec(line);
    if (!m) continue;
    const symbol = m[3] === undefined ? undefined : m[3].replace(/@.*$/, '');
    const addend = m[3] !== undefined ? (m[4] === '-' ? -1 : 1) * parseInt(m[5], 16) : parseInt(m[6] ?? '0', 16);
    out.push({ section, offset: parseInt(m[1], 16), type: m[2], symbol, addend });
  }
  return out;
}

interface OracleSymbol {
  index: number;
  value: number;
  size: number;
  type: string;
  bind: string;
  vis: string;
  ndx: string;
  name: string;
  version?: string;
  hidden?: boolean;
}

function readelfSymbols(file: string, table: '.dynsym' | '.symtab'): OracleSymbol[] {
  const out: OracleSymbol[] = [];
  let current = '';
  for (const line of run('readelf', [table === '.dynsym' ? '--dyn-syms' : '--syms', '-W', file]).split('\n')) {
    const t = /^Symbol table '([^']+)'/.exec(line);
    if (t) {
      current = t[1];
      continue;
    }
    if (current !== table) continue;
    const m = /^\s*(\d+):\s+([0-9a-f]+)\s+(0x[0-9a-f]+|\d+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s?(.*)$/.exec(line);
    if (!m) continue;
    let name = m[8].replace(/\s+\(\d+\)$/, '');
    let version: string | undefined;
    let hidden: boolean | undefined;
    // Only .dynsym names carry versions; a .symtab name may contain '@' literally (free@GLIBC_2.2.5).
    const at2 = table === '.dynsym' ? name.indexOf('@@') : -1;
    const at = table === '.dynsym' ? name.indexOf('@') : -1;
    if (at2 >= 0) {
      version = name.slice(at2 + 2);
      hidden = false;
      name = name.slice(0, at2);
    } else if (at >= 0) {
      version = name.slice(at + 1);
      hidden = true;
      name = name.slice(0, at);
    }
    out.push({ index: Number(m[1]), value: parseInt(m[2], 16), size: Number(m[3]), type: m[4], bind: m[5], vis: m[6], ndx: m[7], name, version, hidden });
  }
  return out;
}

const TYPE_NAMES: Record<number, string> = {
  [C.STT_NOTYPE]: 'NOTYPE',
  [C.STT_OBJECT]: 'OBJECT',
  [C.STT_FUNC]: 'FUNC',
  [C.STT_SECTION]: 'SECTION',
  [C.STT_FILE]: 'FILE',
  [C.STT_COMMON]: 'COMMON',
  [C.STT_TLS]: 'TLS',
  [C.STT_GNU_IFUNC]: 'IFUNC',
};
const BIND_NAMES: Record<number, string> = { [C.STB_LOCAL]: 'LOCAL', [C.STB_GLOBAL]: 'GLOBAL', [C.STB_WEAK]: 'WEAK', [C.STB_GNU_UNIQUE]: 'UNIQUE' };
const VIS_NAMES: Record<number, string> = { [C.STV_DEFAULT]: 'DEFAULT', [C.STV_INTERNAL]: 'INTERNAL', [C.STV_HIDDEN]: 'HIDDEN', [C.STV_PROTECTED]: 'PROTECTED' };

function ndxName(shndx: number): string {
  if (shndx === C.SHN_UNDEF) return 'UND';
  if (shndx === C.SHN_ABS) return 'ABS';
  if (shndx === C.SHN_COMMON) return 'COM';
  return String(shndx);
}

/** Compares every symbol of one table with readelf's listing. */
function checkSymbolsAgainstReadelf(file: string, table: '.dynsym' | '.symtab'): number {
  const elf = openElf(file);
  try {
    const ours = table === '.dynsym' ? elf.dynamicSymbols() : elf.symtabSymbols();
    const theirs = readelfSymbols(file, table);
    assert.equal(ours.length, theirs.length, `${table} symbol count`);
    for (const o of theirs) {
      const s = ours[o.index];
      const where = `${file} ${table}[${o.index}] ${o.name}`;
      assert.equal(s.name, o.name, where);
      assert.equal(s.value, o.value, where);
      assert.equal(s.size, o.size, where);
      assert.equal(TYPE_NAMES[s.type] ?? String(s.type), o.type, where);
      assert.equal(BIND_NAMES[s.bind] ?? String(s.bind), o.bind, where);
      assert.equal(VIS_NAMES[s.visibility], o.vis, where);
      assert.equal(ndxName(s.shndx), o.ndx, where);
      // readelf prints no version for the symbols that name a version definition (GLIBC_2.10 ABS).
      const versionSymbol = s.shndx === C.SHN_ABS && s.name === s.version?.name;
      if (!versionSymbol) assert.equal(s.version?.name, o.version, `${where} version`);
      // readelf shows needed versions (.gnu.version_r) with one '@' even on defined (copy-relocated) symbols.
      if (o.version !== undefined && s.defined && s.version?.file === undefined && !versionSymbol) {
        assert.equal(s.version?.hidden, o.hidden, `${where} hidden`);
      }
    }
    return theirs.length;
  } finally {
    elf.close();
  }
}

interface OracleStub {
  address: number;
  name: string;
  slot: number;
}

/** Named PLT stubs from objdump: `<name@plt>` labels and the GOT slot of their `jmp *X(%rip)`. */
function objdumpPltStubs(file: string): OracleStub[] {
  const text = run('objdump', ['-d', '-j', '.plt', '-j', '.plt.sec', '-j', '.plt.got', file]);
  const out: OracleStub[] = [];
  let current: { address: number; name: string } | undefined;
  for (const line of text.split('\n')) {
    const label = /^([0-9a-f]+) <(.+)>:$/.exec(line);
    if (label) {
      current = label[2].endsWith('@plt') ? { address: parseInt(label[1], 16), name: label[2].slice(0, -'@plt'.length) } : undefined;
      continue;
    }
    const jmp = /\sjmp\s+\*0x[0-9a-f]+\(%rip\)\s+# ([0-9a-f]+)/.exec(line);
    if (jmp && current) {
      out.push({ ...current, slot: parseInt(jmp[1], 16) });
      current = undefined;
    }
  }
  return out;
}

/** Checks our PLT stubs against objdump's named stubs, both ways. */
function checkPltAgainstObjdump(file: string): number {
  const elf = openElf(file);
  try {
    const theirs = objdumpPltStubs(file);
    const ours = elf.pltStubs();
    for (const t of theirs) {
      const s = elf.pltStubAt(t.address);
      assert.ok(s, `${file}: no stub at 0x${t.address.toString(16)} (${t.name}@plt)`);
      assert.equal(s.gotSlot, t.slot, `${file}: GOT slot of ${t.name}@plt`);
      const abs = /^\*ABS\*\+0x([0-9a-f]+)$/.exec(t.name);
      if (abs) {
        assert.equal(s.relocType, C.R_X86_64_IRELATIVE, `${file}: ${t.name}@plt is IRELATIVE`);
        assert.equal(elf.relocationAt(s.gotSlot)?.addend, parseInt(abs[1], 16));
      } else {
        assert.equal(s.symbol, t.name, `${file}: symbol of the stub at 0x${t.address.toString(16)}`);
        assert.ok([C.R_X86_64_JUMP_SLOT, C.R_X86_64_GLOB_DAT].includes(s.relocType), `${file}: ${t.name}@plt reloc type ${s.relocType}`);
      }
    }
    const named = new Set(theirs.map((t) => t.address));
    for (const s of ours) {
      if (s.relocType !== C.R_X86_64_NONE) assert.ok(named.has(s.address), `${file}: objdump does not list our stub ${s.symbol} at 0x${s.address.toString(16)}`);
    }
    return theirs.length;
  } finally {
    elf.close();
  }
}

function checkRelocsAgainstReadelf(file: string): number {
  const elf = openElf(file);
  try {
    const theirs = readelfRelocs(file);
    const ours = elf.relocations();
    assert.equal(ours.length, theirs.length, `${file}: relocation count`);
    for (let i = 0; i < theirs.length; i++) {
      const o = ours[i];
      const t = theirs[i];
      const where = `${file} relocation ${i} at 0x${t.offset.toString(16)}`;
      assert.equal(o.section, t.section, where);
      assert.equal(o.offset, t.offset, where);
      assert.equal(o.typeName, t.type, where);
      assert.equal(o.addend, t.addend, where);
      if (t.symbol !== undefined) assert.equal(o.symbol?.name, t.symbol, where);
      else assert.equal(o.symbolIndex, 0, where);
    }
    return theirs.length;
  } finally {
    elf.close();
  }
}

// ------------------------------------------------------------------ fixtures

interface Fixtures {
  lib: string; // lazy PLT, no CET
  libIbt: string; // -fcf-protection=full with an IBT PLT (.plt.sec)
  libNoPlt: string; // -fno-plt -z now
  libNow: string; // PLT stubs, but -z now
  libStripped: string; // `strip` of lib
  exe: string; // PIE linked against lib
  exeNoPie: string; // -no-pie
  exeStatic?: string; // -static (needs libc.a)
}

let fx: Fixtures;

function stripCopy(file: string): string {
  const out = path.join(FIXTURE_OUT, `${path.basename(file, '.so')}-stripped.so`);
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(file).mtimeMs) {
    execFileSync('strip', ['-o', `${out}.tmp${process.pid}`, file]);
    fs.renameSync(`${out}.tmp${process.pid}`, out);
  }
  return out;
}

before(() => {
  const noCet = ['-fcf-protection=none'];
  const lib = buildC('c/elf_lib.c', { shared: true, flags: noCet });
  let exeStatic: string | undefined;
  try {
    exeStatic = buildC('c/elf_static.c', { flags: ['-static', ...noCet] });
  } catch {
    exeStatic = undefined; // No libc.a on this machine: the static-binary checks are skipped.
  }
  fx = {
    lib,
    libIbt: buildC('c/elf_lib.c', { shared: true, flags: ['-fcf-protection=full', '-Wl,-z,ibtplt'] }),
    libNoPlt: buildC('c/elf_lib.c', { shared: true, flags: ['-fno-plt', '-Wl,-z,now', ...noCet] }),
    libNow: buildC('c/elf_lib.c', { shared: true, flags: ['-Wl,-z,now', ...noCet] }),
    libStripped: stripCopy(lib),
    exe: buildC('c/elf_main.c', { flags: noCet, link: [lib] }),
    exeNoPie: buildC('c/elf_main.c', { flags: ['-no-pie', ...noCet], link: [lib] }),
    exeStatic,
  };
});

// ------------------------------------------------------------------ tests

describe('ElfFile headers, sections and dynamic section', { skip: skipUnless(HAVE_TOOLS, 'readelf/objdump/strip missing') }, () => {
  it('lists the same sections as readelf for fixtures, libc and python3', () => {
    for (const file of [fx.lib, fx.libIbt, fx.exe, fx.exeNoPie, LIBC, PYTHON]) {
      const elf = openElf(file);
      const theirs = readelfSections(file);
      assert.equal(elf.sections.length - 1, theirs.length, `${file}: section count`);
      for (const t of theirs) {
        const s = elf.sections[t.index];
        assert.deepEqual([s.name, s.addr, s.offset, s.size], [t.name, t.addr, t.offset, t.size], `${file} section ${t.index}`);
        assert.equal(elf.section(t.name)?.name, t.name);
      }
      elf.close();
    }
  });

  it('reads the dynamic section: NEEDED, SONAME, RUNPATH, BIND_NOW flags', () => {
    const text = (f: string) => run('readelf', ['-dW', f]);
    for (const file of [fx.lib, fx.libNow, fx.libNoPlt, fx.exe, LIBC, PYTHON]) {
      const elf = openElf(file);
      const d = elf.dynamic();
      const t = text(file);
      const needed = [...t.matchAll(/\(NEEDED\)\s+Shared library: \[(.*)\]/g)].map((m) => m[1]);
      assert.deepEqual(d.needed, needed, `${file} NEEDED`);
      assert.equal(d.soname, /\(SONAME\)\s+Library soname: \[(.*)\]/.exec(t)?.[1], `${file} SONAME`);
      const runpath = /\(RUNPATH\)\s+Library runpath: \[(.*)\]/.exec(t)?.[1];
      assert.deepEqual(d.runpath, runpath?.split(':'), `${file} RUNPATH`);
      const flagsNow = /\(FLAGS\)\s+.*\bBIND_NOW\b/.test(t) || /\(FLAGS_1\)\s+Flags:.*\bNOW\b/.test(t) || /\(BIND_NOW\)/.test(t);
      assert.equal(d.bindNow, flagsNow, `${file} bind now`);
      elf.close();
    }
    const now = openElf(fx.libNow);
    const lazy = openElf(fx.lib);
    assert.equal(now.dynamic().bindNow, true);
    assert.equal(lazy.dynamic().bindNow, false);
    assert.ok((now.dynamic().flags & C.DF_BIND_NOW) !== 0 || (now.dynamic().flags1 & C.DF_1_NOW) !== 0);
    now.close();
    lazy.close();
  });

  it('classifies PIE, non-PIE, shared, and static objects', () => {
    const facts = (f: string) => {
      const e = openElf(f);
      const r = { type: e.header.type, pie: e.isPie, static: e.isStatic, interp: e.interpreter };
      e.close();
      return r;
    };
    const ld = run('readelf', ['-lW', fx.exe]).match(/Requesting program interpreter: (.*)\]/)?.[1];
    assert.deepEqual(facts(fx.exe), { type: C.ET_DYN, pie: true, static: false, interp: ld });
    assert.deepEqual(facts(fx.exeNoPie), { type: C.ET_EXEC, pie: false, static: false, interp: ld });
    assert.deepEqual(facts(fx.lib), { type: C.ET_DYN, pie: false, static: false, interp: undefined });
    const libc = facts(LIBC);
    assert.equal(libc.pie, false, 'libc.so.6 has PT_INTERP but is a library (it has a SONAME)');
    assert.equal(libc.static, false);
    if (fx.exeStatic) {
      assert.deepEqual(facts(fx.exeStatic), { type: C.ET_EXEC, pie: false, static: true, interp: undefined });
      const staticPie = buildC('c/elf_static.c', { flags: ['-static-pie', '-fcf-protection=none'] });
      assert.deepEqual(facts(staticPie), { type: C.ET_DYN, pie: true, static: true, interp: undefined });
    }
  });

  it('reads virtual addresses through PT_LOAD, with zeros in the .bss tail', () => {
    const elf = openElf(fx.lib);
    const text = elf.section('.text')!;
    assert.deepEqual(Buffer.from(elf.readVirtual(text.addr, 32)), Buffer.from(elf.sectionData(text).subarray(0, 32)));
    assert.equal(elf.vaddrToOffset(text.addr), text.offset);
    const data = elf.loadSegments().find((p) => p.memsz > p.filesz);
    if (data) {
      const tail = elf.readVirtual(data.vaddr + data.filesz, data.memsz - data.filesz);
      assert.ok(tail.every((b) => b === 0));
      assert.equal(elf.vaddrToOffset(data.vaddr + data.filesz), undefined);
    }
    const last = elf.loadSegments()[elf.loadSegments().length - 1];
    assert.throws(() => elf.readVirtual(last.vaddr + last.memsz, 1), (e: unknown) => e instanceof NativeError && e.kind === 'truncated');
    assert.equal(elf.tryReadVirtual(last.vaddr + last.memsz - 1, 2), undefined);
    const exec = elf.executableRanges();
    assert.ok(exec.some((r) => text.addr >= r.start && text.addr + text.size <= r.end), '.text lies in an executable range');
    assert.ok(elf.executableSections().some((s) => s.name === '.text' && s.start === text.addr));
    elf.close();
  });
});

describe('ElfFile symbols and versions', { skip: skipUnless(HAVE_TOOLS, 'readelf missing') }, () => {
  it('matches readelf on every .dynsym symbol of libc.so.6, including versions', () => {
    const n = checkSymbolsAgainstReadelf(LIBC, '.dynsym');
    assert.ok(n > 1000, `libc has ${n} dynamic symbols`);
  });

  it('matches readelf on .dynsym of python3 and on .dynsym/.symtab of the fixtures', () => {
    checkSymbolsAgainstReadelf(PYTHON, '.dynsym');
    for (const f of [fx.lib, fx.exe, fx.libIbt]) {
      checkSymbolsAgainstReadelf(f, '.dynsym');
      assert.ok(checkSymbolsAgainstReadelf(f, '.symtab') > 10);
    }
    const stripped = openElf(fx.libStripped);
    assert.equal(stripped.hasSymtab, false);
    assert.equal(stripped.symtabSymbols().length, 0);
    stripped.close();
  });

  it('looks up exported symbols like dlsym: default versions for plain names, explicit versions on request', () => {
    const elf = openElf(LIBC);
    const theirs = readelfSymbols(LIBC, '.dynsym').filter((s) => s.ndx !== 'UND' && s.bind !== 'LOCAL');
    let checked = 0;
    for (const s of theirs) {
      if (s.version === undefined) continue;
      const exact = elf.lookupSymbol(`${s.name}${s.hidden ? '@' : '@@'}${s.version}`);
      assert.equal(exact?.value, s.value, `${s.name}@${s.version}`);
      if (!s.hidden) {
        assert.equal(elf.lookupSymbol(s.name)?.value, s.value, `plain ${s.name} is the default version`);
        checked++;
      } else if (!theirs.some((x) => x.name === s.name && !x.hidden)) {
        assert.equal(elf.lookupSymbol(s.name), undefined, `${s.name} exists only as a hidden version`);
      }
    }
    assert.ok(checked > 1000);
    // memcpy has an old compatibility version and a default one at different addresses.
    const memcpy = theirs.filter((s) => s.name === 'memcpy');
    if (memcpy.length === 2) {
      assert.equal(elf.lookupSymbol('memcpy')?.version?.hidden, false);
      assert.notEqual(elf.lookupSymbol('memcpy')?.value, elf.lookupSymbol(`memcpy@${memcpy.find((s) => s.hidden)!.version}`)?.value);
    }
    assert.equal(elf.lookupSymbol('no_such_symbol_here'), undefined);
    elf.close();

    const lib = openElf(fx.lib);
    assert.equal(lib.lookupSymbol('elf_lib_add')?.type, C.STT_FUNC);
    assert.equal(lib.lookupSymbol('elf_lib_pick')?.type, C.STT_GNU_IFUNC);
    assert.equal(lib.lookupSymbol('elf_lib_static_helper'), undefined, 'a static function is not exported');
    assert.equal(lib.findSymbol('elf_lib_static_helper')?.bind, C.STB_LOCAL, 'but findSymbol sees .symtab');
    lib.close();
  });
});

describe('ElfFile relocations and PLT', { skip: skipUnless(HAVE_TOOLS, 'readelf/objdump missing') }, () => {
  it('matches readelf -r on every relocation (fixtures, libc, python3)', () => {
    for (const f of [fx.lib, fx.libIbt, fx.libNoPlt, fx.exe, fx.exeNoPie, LIBC, PYTHON, ...(fx.exeStatic ? [fx.exeStatic] : [])]) {
      assert.ok(checkRelocsAgainstReadelf(f) > 0, f);
    }
  });

  it('maps .plt stubs to GOT slots and symbols as objdump does (lazy PLT, IRELATIVE, .plt.got)', () => {
    assert.ok(checkPltAgainstObjdump(fx.lib) >= 5);
    const elf = openElf(fx.lib);
    const kinds = new Set(elf.pltStubs().map((s) => s.kind));
    assert.ok(kinds.has('plt'));
    assert.ok(kinds.has('plt.got'), 'puts is called and address-taken, so ld gives it a .plt.got stub');
    const puts = elf.pltStubs().find((s) => s.symbol === 'puts');
    assert.equal(puts?.kind, 'plt.got');
    assert.equal(puts?.relocType, C.R_X86_64_GLOB_DAT);
    const strlen = elf.pltStubs().find((s) => s.symbol === 'strlen');
    assert.equal(strlen?.relocType, C.R_X86_64_JUMP_SLOT);
    assert.equal(elf.relocationAt(strlen!.gotSlot)?.symbol?.name, 'strlen');
    // The local IFUNC is called through an IRELATIVE slot; the stub is named after the IFUNC symbol.
    const irel = elf.pltStubs().find((s) => s.relocType === C.R_X86_64_IRELATIVE);
    assert.ok(irel, 'an IRELATIVE stub');
    assert.equal(irel.symbol, 'elf_lib_local_pick');
    assert.equal(elf.relocationAt(irel.gotSlot)?.addend, elf.findSymbol('elf_lib_local_resolver')?.value);
    elf.close();
  });

  it('maps IBT .plt.sec stubs (endbr64; bnd jmp) and leaves the lazy .plt entries out', () => {
    assert.ok(checkPltAgainstObjdump(fx.libIbt) >= 5);
    const elf = openElf(fx.libIbt);
    assert.ok(elf.section('.plt.sec'), 'ld made a .plt.sec');
    const stubs = elf.pltStubs();
    assert.ok(stubs.some((s) => s.kind === 'plt.sec' && s.symbol === 'strlen'));
    assert.ok(!stubs.some((s) => s.kind === 'plt'), 'IBT lazy .plt entries only push and jump to PLT0');
    elf.close();
  });

  it('maps libc.so.6 and python3 PLT stubs like objdump', () => {
    assert.ok(checkPltAgainstObjdump(LIBC) > 10);
    assert.ok(checkPltAgainstObjdump(PYTHON) > 100);
  });

  it('resolves -fno-plt `call [rip+X]` slots to GLOB_DAT relocations (the bypass-PLT case)', () => {
    const text = run('objdump', ['-d', '-j', '.text', fx.libNoPlt]);
    const calls = [...text.matchAll(/\s(?:call|jmp)\s+\*0x[0-9a-f]+\(%rip\)\s+# ([0-9a-f]+) <([^>@+]+)(?:@[^>+]*)?>/g)].map((m) => ({ slot: parseInt(m[1], 16), name: m[2] }));
    assert.ok(calls.length >= 4, `found ${calls.length} GOT-indirect calls`);
    const elf = openElf(fx.libNoPlt);
    for (const c of calls) {
      const rel = elf.relocationAt(c.slot);
      assert.equal(rel?.type, C.R_X86_64_GLOB_DAT, `slot of ${c.name}`);
      assert.equal(rel?.symbol?.name, c.name);
    }
    assert.ok(calls.some((c) => c.name === 'strlen') && calls.some((c) => c.name === 'malloc'));
    assert.ok(!elf.pltStubs().some((s) => s.symbol === 'strlen'), 'no PLT stub for strlen under -fno-plt');
    elf.close();
  });

  it('names IRELATIVE stubs of a static executable after their IFUNC symbols', (t) => {
    if (!fx.exeStatic) return skipOrFail(t, 'no libc.a to link a static executable');
    const elf = openElf(fx.exeStatic);
    const stubs = elf.pltStubs().filter((s) => s.relocType === C.R_X86_64_IRELATIVE);
    assert.ok(stubs.length > 3);
    for (const s of stubs) {
      const addend = elf.relocationAt(s.gotSlot)!.addend;
      const ifunc = elf.symtabSymbols().find((x) => x.type === C.STT_GNU_IFUNC && x.value === addend);
      assert.ok(ifunc, `an IFUNC symbol at the resolver 0x${addend.toString(16)}`);
      assert.ok(s.symbol !== undefined);
      assert.equal(elf.symtabSymbols().find((x) => x.name === s.symbol)?.value, addend);
    }
    elf.close();
  });
});

describe('ElfFile function extents', { skip: skipUnless(HAVE_TOOLS, 'strip missing') }, () => {
  it('recovers the static functions of a stripped library from .eh_frame, matching the unstripped symbols', () => {
    const full = openElf(fx.lib);
    const stripped = openElf(fx.libStripped);
    const ours = full.symtabSymbols().filter((s) => s.type === C.STT_FUNC && s.size > 0 && /^(elf_lib|pick_)/.test(s.name));
    assert.ok(ours.length >= 8);
    let fromFde = 0;
    for (const s of ours) {
      const f = stripped.functionAt(s.value + Math.floor(s.size / 2));
      assert.ok(f, `${s.name} found in the stripped copy`);
      assert.equal(f.start, s.value, `${s.name} start`);
      assert.equal(f.end, s.value + s.size, `${s.name} end`);
      if (s.bind === C.STB_LOCAL) {
        if (f.source === 'eh_frame') {
          fromFde++;
          assert.equal(f.name, undefined);
        }
      } else {
        assert.equal(f.source, 'symbol', `${s.name} is exported, so .dynsym still names it`);
      }
      // The unstripped file names every one of them.
      const named = full.functionAt(s.value);
      assert.equal(named?.start, s.value);
      assert.ok(named?.name === s.name || named?.aliases?.includes(s.name), `${s.name} named`);
    }
    assert.ok(fromFde >= 3, `${fromFde} static functions came from FDEs`);
    // The IFUNC symbol and its resolver share an address: one extent with an alias.
    const pick = full.functionAt(full.findSymbol('elf_lib_pick')!.value)!;
    assert.ok([pick.name, ...(pick.aliases ?? [])].includes('elf_lib_pick_resolver'));
    full.close();
    stripped.close();
  });

  it('symbolizes addresses by the nearest preceding named function', () => {
    const elf = openElf(fx.lib);
    const add = elf.findSymbol('elf_lib_add')!;
    assert.deepEqual(elf.symbolize(add.value + 3), { name: 'elf_lib_add', offset: 3, inside: true });
    const fns = elf.functions();
    for (let i = 1; i < fns.length; i++) assert.ok(fns[i - 1].start <= fns[i].start, 'sorted by start');
    const stripped = openElf(fx.libStripped);
    const helper = elf.findSymbol('elf_lib_static_helper')!;
    const s = stripped.symbolize(helper.value + 1);
    assert.ok(s === undefined || (s.name !== 'elf_lib_static_helper' && !s.inside && s.offset > 1), 'a stripped static function has no name of its own');
    assert.equal(stripped.functionAt(helper.value + 1)?.name, undefined);
    elf.close();
    stripped.close();
  });

  it('agrees with .eh_frame_hdr on the FDE count of libc and covers its exported functions', () => {
    const elf = openElf(LIBC);
    const fdes = elf.fdeRanges();
    const hdr = runLenient('readelf', ['--debug-dump=frames', LIBC]).split('\n').filter((l) => / FDE cie=/.test(l)).length;
    assert.equal(fdes.length, hdr, 'FDE count equals readelf --debug-dump=frames');
    let covered = 0;
    let total = 0;
    for (const s of elf.dynamicSymbols()) {
      if (!s.defined || s.type !== C.STT_FUNC || s.size === 0) continue;
      total++;
      if (elf.functionAt(s.value)?.start === s.value) covered++;
    }
    assert.equal(covered, total);
    assert.ok(elf.functions().filter((f) => f.source === 'eh_frame').length > 500, 'stripped libc: many functions only from FDEs');
    elf.close();
  });
});

describe('ElfFile on malformed input', () => {
  const isNative = (e: unknown) => e instanceof NativeError;
  const tmp = () => {
    fs.mkdirSync(FIXTURE_OUT, { recursive: true });
    return FIXTURE_OUT;
  };

  /** Touches every lazily parsed part; returns normally or throws. */
  function exercise(elf: ElfFile): void {
    elf.dynamic();
    void elf.interpreter;
    void elf.isPie;
    void elf.isStatic;
    elf.dynamicSymbols();
    elf.symtabSymbols();
    elf.lookupSymbol('elf_lib_add');
    elf.findSymbol('elf_lib_static_helper');
    elf.relocations();
    elf.gotSlotRelocations();
    elf.pltStubs();
    elf.fdeRanges();
    const fns = elf.functions();
    for (const r of elf.executableRanges()) {
      elf.functionAt(r.start + 1);
      elf.symbolize(r.start + 17);
      elf.tryReadVirtual(r.start, Math.min(64, r.end - r.start));
    }
    if (fns.length) elf.functionAt(fns[fns.length >> 1].start);
  }

  function expectNativeOrOk(bytes: Uint8Array, label: string): NativeError | undefined {
    const t0 = Date.now();
    try {
      const elf = ElfFile.open(new BufferByteSource(label, bytes));
      exercise(elf);
      return undefined;
    } catch (e) {
      assert.ok(isNative(e), `${label}: threw ${(e as Error)?.stack ?? e} instead of a NativeError`);
      return e as NativeError;
    } finally {
      assert.ok(Date.now() - t0 < 2000, `${label}: took ${Date.now() - t0} ms`);
    }
  }

  it('rejects non-ELF files as malformed', () => {
    const file = path.join(tmp(), 'not-elf.txt');
    fs.writeFileSync(file, 'this is not an ELF file at all\n');
    assert.throws(() => openElf(file), (e: unknown) => isNative(e) && (e as NativeError).kind === 'malformed' && /not an ELF file/.test((e as Error).message));
    assert.throws(() => ElfFile.open(new BufferByteSource('empty', new Uint8Array(0))), (e: unknown) => isNative(e) && (e as NativeError).kind === 'malformed');
    assert.throws(
      () => ElfFile.open(new BufferByteSource('magic-only', Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 2]))),
      (e: unknown) => isNative(e) && (e as NativeError).kind === 'truncated',
    );
  });

  it('rejects 32-bit, big-endian and non-x86-64 ELF files as unsupported', () => {
    const real = new Uint8Array(fs.readFileSync(fx.lib));
    const crafted = (patch: (b: Uint8Array) => void) => {
      const b = real.slice(0, 4096);
      patch(b);
      return b;
    };
    const unsupported = (b: Uint8Array, re: RegExp) =>
      assert.throws(() => ElfFile.open(new BufferByteSource('crafted', b)), (e: unknown) => isNative(e) && (e as NativeError).kind === 'unsupported' && re.test((e as Error).message));
    unsupported(crafted((b) => (b[C.EI_CLASS] = C.ELFCLASS32)), /32-bit/);
    unsupported(crafted((b) => (b[C.EI_DATA] = C.ELFDATA2MSB)), /big-endian/);
    unsupported(crafted((b) => new DataView(b.buffer).setUint16(18, C.EM_AARCH64, true)), /AArch64/);
    // A real 32-bit executable, when gcc can build one (-m32 without a 32-bit libc: -nostdlib).
    let exe32: string | undefined;
    try {
      exe32 = buildC('c/proc_sleep32.c', { flags: ['-m32', '-static', '-nostdlib', '-fno-pie', '-no-pie'] });
    } catch {
      exe32 = undefined;
    }
    if (exe32) unsupported(new Uint8Array(fs.readFileSync(exe32)), /32-bit/);
    const invalidClass = crafted((b) => (b[C.EI_CLASS] = 7));
    assert.throws(() => ElfFile.open(new BufferByteSource('crafted', invalidClass)), (e: unknown) => isNative(e) && (e as NativeError).kind === 'malformed');
  });

  it('fails with a NativeError (never another exception, never a hang) on truncated copies of a real .so', () => {
    const whole = new Uint8Array(fs.readFileSync(fx.lib));
    const cuts = new Set<number>();
    for (let i = 0; i <= 80; i++) cuts.add(i);
    for (let c = 0; c < whole.length; c += 61) cuts.add(c);
    const elf = openElf(fx.lib);
    for (const s of elf.sections) for (const d of [-1, 0, 1, 7]) cuts.add(Math.max(0, Math.min(whole.length - 1, s.offset + d)));
    elf.close();
    let errors = 0;
    for (const cut of cuts) {
      const e = expectNativeOrOk(whole.slice(0, cut), `truncated at ${cut}`);
      if (e) errors++;
    }
    assert.ok(errors > cuts.size * 0.9, `${errors} of ${cuts.size} truncations reported an error`);
  });

  it('fails with a NativeError or parses consistently on a few hundred seeded random corruptions', () => {
    const whole = new Uint8Array(fs.readFileSync(fx.lib));
    const elf = openElf(fx.lib);
    // Targets: the ELF header, the program and section header tables, and the tables the reader parses.
    const regions: [number, number][] = [
      [0, 64],
      [elf.header.phoff, elf.header.phnum * 56],
      [elf.header.shoff, elf.header.shnum * 64],
    ];
    for (const name of ['.dynsym', '.dynstr', '.rela.dyn', '.rela.plt', '.gnu.version', '.gnu.version_d', '.gnu.version_r', '.eh_frame', '.eh_frame_hdr', '.dynamic', '.plt', '.symtab']) {
      const s = elf.section(name);
      if (s && s.size > 0) regions.push([s.offset, s.size]);
    }
    elf.close();
    let seed = 0x9e3779b9;
    const rand = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    const interesting = [0, 0xff, 0x7f, 0x80, 0x01, 0x40];
    const t0 = Date.now();
    let errors = 0;
    const kinds = new Set<string>();
    for (let i = 0; i < 400; i++) {
      const b = whole.slice();
      const n = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < n; k++) {
        const [start, len] = regions[Math.floor(rand() * regions.length)];
        const pos = start + Math.floor(rand() * len);
        b[pos] = rand() < 0.5 ? interesting[Math.floor(rand() * interesting.length)] : Math.floor(rand() * 256);
      }
      const e = expectNativeOrOk(b, `mutation ${i}`);
      if (e) {
        errors++;
        kinds.add(e.kind);
      }
    }
    assert.ok(errors > 20, `${errors} mutations were detected`);
    assert.ok(Date.now() - t0 < 60_000, 'the whole corruption loop stays fast');
    for (const k of kinds) assert.ok(['truncated', 'malformed', 'unsupported'].includes(k), `unexpected kind ${k}`);
  });
});
