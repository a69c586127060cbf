// The second feature table of DESIGN.md: Intel XED ISA-SET → CPUID conditions in canonical features, and the
// sound inference that turns "which ISA-SETs a CPU reports as supported" into the canonical features it has.

import { NativeError } from '../errors';
import xedTableJson from '../../data/xed-isa-set-features.json';
import { cpuidBitKey, featureOfCpuidBit, type CpuidRegister } from './cpuinfo';
import { isKnownFeature, type Feature } from './vocabulary';

/**
 * One condition atom of the shipped table: a canonical feature (its CPUID bit is 1), `cpuid:L.S.R.B` for a
 * CPUID bit that no canonical feature stands for (it is 1), or `cpuid:L.S.R[lo:hi]=V` for a multi-bit
 * field equal to V. L and S are hex leaf and subleaf, R the register.
 */
export type XedAtom = string;

/** The shipped table (native/data/xed-isa-set-features.json). */
export interface XedTable {
  about: string;
  /** Where the conditions come from (XED commit). */
  source: string;
  /**
   * ISA-SET → alternatives (any one suffices) of conjunctions (all must hold) of atoms. `[[]]` means XED
   * defines no CPUID condition: the set is reported as supported everywhere and says nothing.
   */
  isaSets: Record<string, XedAtom[][]>;
}

/** A parsed CPUID condition: bits lo..hi of CPUID(leaf, subleaf).register must equal value. */
export interface CpuidCondition {
  leaf: number;
  subleaf: number;
  register: CpuidRegister;
  lo: number;
  hi: number;
  value: number;
}

function hexNumber(text: string, what: string, subject: string): number {
  if (!/^(0x)?[0-9a-f]+$/i.test(text)) throw new NativeError('malformed', `${subject}: bad ${what} "${text}".`, { subject });
  return parseInt(text.replace(/^0x/i, ''), 16);
}

/**
 * Parses one XED CPUID record: `name.leaf.subleaf.register.bit`, `name.leaf.subleaf.register[bit]`, or
 * `name.leaf.subleaf.register[lo:hi]=value` (leaf and subleaf in hex, as XED writes them).
 */
export function parseXedCpuidRecord(record: string, subject = 'XED CPUID record'): CpuidCondition {
  const m = /^([A-Za-z0-9_]+)\.([0-9a-fA-Fx]+)\.([0-9a-fA-Fx]+)\.(eax|ebx|ecx|edx)(?:\.(\d+)|\[(\d+)(?::(\d+))?\](?:=(0x[0-9a-f]+|\d+))?)$/i.exec(
    record.trim(),
  );
  if (!m) throw new NativeError('malformed', `${subject}: cannot parse CPUID record "${record}".`, { subject });
  const [, , leafText, subleafText, reg, dotBit, lo, hi, value] = m;
  const leaf = hexNumber(leafText, 'leaf', subject);
  const subleaf = hexNumber(subleafText, 'subleaf', subject);
  const register = reg.toLowerCase() as CpuidRegister;
  let a: number;
  let b: number;
  if (dotBit !== undefined) a = b = Number(dotBit);
  else {
    a = Number(lo);
    b = hi === undefined ? a : Number(hi);
  }
  const low = Math.min(a, b);
  const high = Math.max(a, b);
  const v = value === undefined ? (low === high ? 1 : NaN) : Number(value);
  if (high > 31 || !Number.isFinite(v) || v < 0 || v >= 2 ** (high - low + 1)) {
    throw new NativeError('malformed', `${subject}: CPUID record "${record}" is out of range.`, { subject });
  }
  return { leaf, subleaf, register, lo: low, hi: high, value: v };
}

/** The atom for one CPUID bit: the canonical feature it stands for, else `cpuid:L.S.R.B`. */
export function bitAtom(leaf: number, subleaf: number, register: CpuidRegister, bit: number): XedAtom {
  const key = cpuidBitKey({ leaf, subleaf, register, bit });
  return featureOfCpuidBit(key) ?? `cpuid:${key}`;
}

/** The atom for a parsed condition (a single bit equal to 1 becomes a bit atom). */
export function conditionAtom(c: CpuidCondition): XedAtom {
  if (c.lo === c.hi && c.value === 1) return bitAtom(c.leaf, c.subleaf, c.register, c.lo);
  return `cpuid:${c.leaf.toString(16)}.${c.subleaf.toString(16)}.${c.register}[${c.lo}:${c.hi}]=${c.value}`;
}

/**
 * Builds the shipped table from Intel XED's ISA-SET → CPUID records (shared/data/xed-isa-set-cpuid.json):
 * every record becomes an atom, so conditions read in canonical features where a feature stands for the
 * bit. Duplicate atoms in a conjunction are merged; ISA-SETs are sorted by name.
 */
export function deriveXedTable(xedJson: unknown, subject = 'xed-isa-set-cpuid.json'): XedTable {
  const root = xedJson as { about?: unknown; isaSets?: unknown };
  if (!root || typeof root !== 'object' || !root.isaSets || typeof root.isaSets !== 'object') {
    throw new NativeError('malformed', `${subject}: expected an object with "isaSets".`, { subject });
  }
  const isaSets: Record<string, XedAtom[][]> = {};
  for (const name of Object.keys(root.isaSets as object).sort()) {
    const alternatives = (root.isaSets as Record<string, unknown>)[name];
    if (!Array.isArray(alternatives) || !alternatives.every((a) => Array.isArray(a))) {
      throw new NativeError('malformed', `${subject}: ISA-SET ${name} is not a list of alternatives.`, { subject });
    }
    isaSets[name] = (alternatives as unknown[][]).map((alt) => [
      ...new Set(alt.map((r) => conditionAtom(parseXedCpuidRecord(String(r), `${subject} ${name}`)))),
    ]);
  }
  const about = typeof root.about === 'string' ? root.about : '';
  const commit = /commit ([0-9a-f]{7,40})/i.exec(about)?.[1];
  return {
    about:
      'XED ISA-SET → CPUID conditions in canonical features: alternatives (any) of conjunctions (all) of atoms. An atom is a canonical feature (its CPUID bit is 1), cpuid:L.S.R.B (another CPUID bit is 1) or cpuid:L.S.R[lo:hi]=V (a field equals V). [[]] = no CPUID condition. Generated by scripts/derive-data.mjs; do not edit.',
    source: `Intel XED datafiles/*/cpuid*.xed.txt${commit ? ` (github intelxed/xed, commit ${commit})` : ''}, Apache-2.0`,
    isaSets,
  };
}

/** The shipped table. */
export const XED_TABLE: XedTable = xedTableJson as unknown as XedTable;

/** The alternatives of an ISA-SET in the shipped table, or undefined when XED (as shipped) does not know it. */
export function isaSetConditions(isaSet: string, table: XedTable = XED_TABLE): XedAtom[][] | undefined {
  return Object.prototype.hasOwnProperty.call(table.isaSets, isaSet) ? table.isaSets[isaSet] : undefined;
}

/**
 * Canonical features an ISA-SET needs in every one of its alternatives (e.g. AVX2 → avx2, FMA → fma+avx),
 * a quick reading of the table; the AVX10 alternatives of the AVX-512 sets make this empty for them, which
 * is why catalogs are derived with inferFeatures instead.
 */
export function isaSetFeatures(isaSet: string, table: XedTable = XED_TABLE): Feature[] {
  const alts = isaSetConditions(isaSet, table);
  if (!alts || alts.length === 0) return [];
  const sets = alts.map((alt) => new Set(alt.filter((a) => isKnownFeature(a))));
  return [...sets[0]].filter((f) => sets.every((s) => s.has(f))).sort();
}

// ---------------------------------------------------------------------------------------------------------
// Inference. The observations of one CPU are constraints over CPUID bits: a supported ISA-SET says "one of
// its alternatives holds", an evaluated but unsupported one says "none of its alternatives holds". A
// feature is PRESENT when its bit is 1 in every assignment of bits that satisfies all constraints, ABSENT
// when it is 0 in every one, and UNDECIDABLE otherwise. This is exact entailment; it subsumes the simple
// propagation rules (a supported set with a single one-record alternative sets that bit; an unsupported
// set with a single one-record alternative clears it; alternatives that contradict known bits are
// eliminated; a supported set left with one alternative sets all its records) and also uses
// combinations, e.g. on a CPU without AVX512_FP16 the AVX10 alternative of AVX512F_512 is impossible, so
// AVX512F_512 proves avx512f. Out-of-range CPUID leaves (Intel answers them with the highest basic
// leaf's data, which makes AMX_INT8 "supported" on Ivy Bridge through the 0x1E mirror bit) only create
// constraints on bits that no canonical feature stands for, so they cannot produce a false feature.

/** A literal: variable index * 2, +1 when negated. */
type Lit = number;
/** An "any of these conjunctions" constraint. */
type Constraint = Lit[][];
/** 0 = unknown, 1 = true, -1 = false. */
type Assignment = Int8Array;

class Vars {
  readonly index = new Map<string, number>();
  readonly names: string[] = [];
  id(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.index.set(name, i);
      this.names.push(name);
    }
    return i;
  }
}

const FIELD_ATOM = /^cpuid:([0-9a-f]+)\.([0-9a-f]+)\.(eax|ebx|ecx|edx)\[(\d+):(\d+)\]=(\d+)$/;

/** The literals (over bit variables) that an atom stands for. */
function atomLiterals(atom: XedAtom, vars: Vars): Lit[] {
  const f = FIELD_ATOM.exec(atom);
  if (!f) return [vars.id(atom) * 2];
  const [, leaf, subleaf, reg, lo, hi, value] = f;
  const out: Lit[] = [];
  for (let b = Number(lo); b <= Number(hi); b++) {
    const bitIsOne = ((Number(value) >>> (b - Number(lo))) & 1) === 1;
    const name = bitAtom(parseInt(leaf, 16), parseInt(subleaf, 16), reg as CpuidRegister, b);
    out.push(vars.id(name) * 2 + (bitIsOne ? 0 : 1));
  }
  return out;
}

function litValue(lit: Lit, a: Assignment): number {
  const v = a[lit >> 1];
  return lit & 1 ? -v : v;
}

/** Unit propagation; false on conflict. Mutates the assignment. */
function propagate(constraints: Constraint[], a: Assignment): boolean {
  let changed = true;
  while (changed) {
    changed = false;
    for (const c of constraints) {
      let open = -1;
      let openCount = 0;
      let satisfied = false;
      for (let k = 0; k < c.length && !satisfied; k++) {
        let st = 1;
        for (const lit of c[k]) {
          const v = litValue(lit, a);
          if (v === -1) {
            st = -1;
            break;
          }
          if (v === 0) st = 0;
        }
        if (st === 1) satisfied = true;
        else if (st === 0) {
          openCount++;
          open = k;
        }
      }
      if (satisfied) continue;
      if (openCount === 0) return false;
      if (openCount === 1) {
        for (const lit of c[open]) {
          const v = litValue(lit, a);
          if (v === -1) return false;
          if (v === 0) {
            a[lit >> 1] = lit & 1 ? -1 : 1;
            changed = true;
          }
        }
      }
    }
  }
  return true;
}

/** A satisfying partial assignment extending `a`, or null. Every constraint has a true conjunction in it. */
function solve(constraints: Constraint[], a: Assignment): Assignment | null {
  if (!propagate(constraints, a)) return null;
  let best: Lit[][] | undefined;
  for (const c of constraints) {
    const open: Lit[][] = [];
    let satisfied = false;
    for (const conj of c) {
      let st = 1;
      for (const lit of conj) {
        const v = litValue(lit, a);
        if (v === -1) {
          st = -1;
          break;
        }
        if (v === 0) st = 0;
      }
      if (st === 1) {
        satisfied = true;
        break;
      }
      if (st === 0) open.push(conj);
    }
    if (!satisfied && (!best || open.length < best.length)) best = open;
  }
  if (!best) return a;
  for (const conj of best) {
    const b = a.slice();
    let ok = true;
    for (const lit of conj) {
      const v = litValue(lit, b);
      if (v === -1) ok = false;
      b[lit >> 1] = lit & 1 ? -1 : 1;
    }
    if (!ok) continue;
    const r = solve(constraints, b);
    if (r) return r;
  }
  return null;
}

export interface XedInference {
  /** Canonical features whose CPUID bit is 1 in every assignment consistent with the observations. */
  present: Feature[];
  /** Canonical features whose bit is 0 in every consistent assignment. */
  absent: Feature[];
  /** Canonical features that some ISA-SET condition mentions but the observations do not decide. */
  undecidable: Feature[];
  /** Supported ISA-SETs the table does not know (no information; e.g. CLZERO, LWP in the AWS data). */
  unknownIsaSets: string[];
  /**
   * ISA-SETs whose observations were set aside because together they contradict the table (the collector
   * used an XED version with other conditions for them): a minimal contradictory group, removed whole.
   */
  ignoredIsaSets: string[];
}

export interface InferOptions {
  /**
   * The ISA-SETs the collector evaluated; an evaluated set that is not supported says its conditions fail.
   * Default: every ISA-SET of the table (right when the collector used the same XED).
   */
  evaluated?: Iterable<string>;
  table?: XedTable;
}

/** The constraints one observed ISA-SET contributes. */
interface Observation {
  isaSet: string;
  constraints: Constraint[];
}

function satisfiable(observations: Observation[], nvars: number): Assignment | null {
  return solve(
    observations.flatMap((o) => o.constraints),
    new Int8Array(nvars),
  );
}

/** Groups observations that share a variable (directly or through others); each group is independent. */
function components(observations: Observation[]): Observation[][] {
  const parent = new Map<number, number>();
  const find = (v: number): number => {
    let r = v;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(v, r);
    return r;
  };
  const varsOf = (o: Observation) => [...new Set(o.constraints.flat(2).map((lit) => lit >> 1))];
  for (const o of observations) {
    const vs = varsOf(o);
    for (const v of vs) if (!parent.has(v)) parent.set(v, v);
    for (const v of vs.slice(1)) parent.set(find(v), find(vs[0]));
  }
  const groups = new Map<number, Observation[]>();
  for (const o of observations) {
    const root = find(varsOf(o)[0]);
    groups.set(root, [...(groups.get(root) ?? []), o]);
  }
  return [...groups.values()];
}

/** At most this many contradictory groups are set aside; beyond that the observations are not trusted. */
const MAX_CONTRADICTIONS = 8;

/**
 * Removes contradictions: while the observations are unsatisfiable, takes an unsatisfiable group of
 * connected observations, shrinks it to a minimal unsatisfiable one (deletion: an observation stays only
 * if the rest is satisfiable without it) and drops that whole group. Dropping observations only weakens
 * what can be proven, so the result stays sound. After MAX_CONTRADICTIONS groups the input is treated as
 * garbage: everything is dropped (nothing is proven), which also bounds the work on adversarial input.
 */
function dropContradictions(observations: Observation[], nvars: number): { kept: Observation[]; ignored: string[] } {
  let kept = observations;
  const ignored: string[] = [];
  for (let round = 0; ; round++) {
    const bad = components(kept).find((c) => !satisfiable(c, nvars));
    if (!bad) break;
    if (round === MAX_CONTRADICTIONS) {
      ignored.push(...kept.map((o) => o.isaSet));
      kept = [];
      break;
    }
    let core = bad;
    for (const o of bad) {
      const without = core.filter((x) => x !== o);
      if (!satisfiable(without, nvars)) core = without;
    }
    ignored.push(...core.map((o) => o.isaSet));
    kept = kept.filter((o) => !core.includes(o));
  }
  return { kept, ignored: [...new Set(ignored)].sort() };
}

/** The canonical features of a CPU from the XED ISA-SETs its CPUID reports as supported (see above). */
export function inferFeatures(supported: Iterable<string>, options: InferOptions = {}): XedInference {
  const table = options.table ?? XED_TABLE;
  const supportedSet = new Set(supported);
  const evaluated = new Set(options.evaluated ?? Object.keys(table.isaSets));
  for (const s of supportedSet) evaluated.add(s);
  const vars = new Vars();
  const observations: Observation[] = [];
  const unknownIsaSets: string[] = [];
  for (const s of [...evaluated].sort()) {
    const alts = isaSetConditions(s, table);
    if (!alts) {
      if (supportedSet.has(s)) unknownIsaSets.push(s);
      continue;
    }
    // No condition (or an empty alternative): always supported, says nothing.
    if (alts.length === 0 || alts.some((alt) => alt.length === 0)) continue;
    const conjs = alts.map((alt) => alt.flatMap((atom) => atomLiterals(atom, vars)));
    observations.push({
      isaSet: s,
      constraints: supportedSet.has(s) ? [conjs] : conjs.map((conj) => conj.map((lit) => [lit ^ 1])),
    });
  }
  const nvars = vars.names.length;
  const { kept, ignored } = dropContradictions(observations, nvars);
  const constraints = kept.flatMap((o) => o.constraints);
  const features = vars.names.filter((n) => isKnownFeature(n));
  const base = new Int8Array(nvars);
  const model = solve(constraints, base.slice())!;
  // A feature is decided when flipping it in the model makes the constraints unsatisfiable. Any model
  // found on the way also proves every feature on which it differs from the first one undecidable.
  const undecided = new Set<number>();
  for (const f of features) {
    const i = vars.index.get(f)!;
    if (model[i] === 0) undecided.add(i);
  }
  for (const f of features) {
    const i = vars.index.get(f)!;
    if (undecided.has(i)) continue;
    const trial = base.slice();
    trial[i] = -model[i];
    const other = solve(constraints, trial);
    if (other) {
      for (const g of features) {
        const j = vars.index.get(g)!;
        if (other[j] !== model[j]) undecided.add(j);
      }
    }
  }
  const present: Feature[] = [];
  const absent: Feature[] = [];
  const undecidable: Feature[] = [];
  for (const f of features) {
    const i = vars.index.get(f)!;
    if (undecided.has(i)) undecidable.push(f);
    else if (model[i] === 1) present.push(f);
    else absent.push(f);
  }
  return { present: present.sort(), absent: absent.sort(), undecidable: undecidable.sort(), unknownIsaSets, ignoredIsaSets: ignored };
}

/** Canonical features that appear in some condition of the table (the only ones ISA-SET data can decide). */
export function xedDecidableFeatures(table: XedTable = XED_TABLE): Set<Feature> {
  const vars = new Vars();
  for (const alts of Object.values(table.isaSets)) for (const alt of alts) for (const atom of alt) atomLiterals(atom, vars);
  return new Set(vars.names.filter((n) => isKnownFeature(n)));
}
