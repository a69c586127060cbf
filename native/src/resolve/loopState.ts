// The abstract state of loopFlow.ts's data-flow: which code addresses each register, 64-bit xmm lane and stack slot
// can hold, which registers hold known addresses in the function's own frame, and how much of that frame other code
// may write (its address taken and handed on).

import * as iced from 'iced-x86';

const R = iced.Register;

/** A value set: the link addresses (0 for a null pointer) a register, lane or stack slot may hold; null when unknown. */
export type Val = ReadonlySet<number> | null;
/** Value sets larger than this are taken as unknown (a table slot holds one of a few CPU variants). */
const MAX_VALUES = 256;
export const ZERO: Val = new Set([0]);

/** Registers: the 16 general-purpose ones, then xmm0–15 as two 64-bit lanes each. */
export const GPRS = 16;
export const LANES = 32;
export const RSP = R.RSP - R.RAX;

/**
 * A state. Stack slots are keyed by their offset from rsp at the function's entry (`sp` is rsp's offset now, null when
 * lost). `frame[r]` is the offset a general-purpose register holds when it holds an address in the frame (a `lea
 * r,[rsp+n]` and its copies). `escaped` is the lowest offset whose address may have left the function (stored, passed
 * to a call, or transformed beyond tracking): other code may write the slots at or above it (an object's address lets
 * C code reach that object, which lies at or above it), so calls and writes through unknown pointers drop them.
 */
export interface State {
  regs: Val[];
  frame: (number | undefined)[];
  stack: Map<number, Val>;
  sp: number | null;
  escaped: number;
}

export function gpr(reg: number | undefined): number {
  if (reg === undefined) return -1;
  const i = reg - R.RAX;
  return i >= 0 && i < GPRS ? i : -1;
}
/** The index of xmm n's low lane (the high one follows), -1 for any other register. */
export function xmm(reg: number | undefined): number {
  return reg !== undefined && reg >= R.XMM0 && reg <= R.XMM15 ? GPRS + 2 * (reg - R.XMM0) : -1;
}
/** A vector register of any width (xmm, ymm, zmm), for clobbering: the low lane of its xmm part, or -1. */
export function vectorLanes(reg: number | undefined): number {
  if (reg === undefined) return -1;
  for (const base of [R.XMM0, R.YMM0, R.ZMM0]) if (reg >= base && reg < base + 16) return GPRS + 2 * (reg - base);
  return -1;
}

/** A state where nothing is known; `sp` null where even rsp's offset is not (a block entered from outside). */
export function unknownState(sp: number | null): State {
  return { regs: new Array<Val>(GPRS + LANES).fill(null), frame: new Array<number | undefined>(GPRS).fill(undefined), stack: new Map(), sp, escaped: sp === null ? -Infinity : Infinity };
}
export function copyState(s: State): State {
  return { regs: s.regs.slice(), frame: s.frame.slice(), stack: new Map(s.stack), sp: s.sp, escaped: s.escaped };
}

export function union(a: Val, b: Val): Val {
  if (!a || !b) return null;
  if (a === b) return a;
  let grew = false;
  for (const x of b) if (!a.has(x)) grew = true;
  if (!grew) return a;
  const u = new Set([...a, ...b]);
  return u.size > MAX_VALUES ? null : u;
}

/** Register `r` takes `v`, which is no frame address (overwriting one lets nothing escape). */
export function setReg(s: State, r: number, v: Val): void {
  s.regs[r] = v;
  if (r < GPRS) s.frame[r] = undefined;
}

/** Slots from `offset` up may be written by code the flow does not follow. */
export function escape(s: State, offset: number): void {
  if (offset < s.escaped) s.escaped = offset;
}

/** Every frame address a register holds escapes (a call may read any of them). */
export function escapeAll(s: State): void {
  for (const f of s.frame) if (f !== undefined) escape(s, f);
}

/** A write the flow cannot place: the slots other code may reach are dropped. */
export function dropEscaped(s: State): void {
  for (const k of [...s.stack.keys()]) if (k >= s.escaped) s.stack.delete(k);
}

/** Joins `b` into `into`; true when `into` changed. */
export function join(into: State, b: State): boolean {
  let changed = false;
  for (let i = 0; i < into.regs.length; i++) {
    const u = union(into.regs[i], b.regs[i]);
    if (u !== into.regs[i]) {
      into.regs[i] = u;
      changed = true;
    }
  }
  for (let i = 0; i < GPRS; i++) {
    const a = into.frame[i];
    const c = b.frame[i];
    if (a === c) continue;
    // The register holds one of two addresses, or something else: neither is tracked in it any more.
    if (a !== undefined) {
      escape(into, a);
      into.frame[i] = undefined;
      changed = true;
    }
    if (c !== undefined && c < into.escaped) {
      escape(into, c);
      changed = true;
    }
  }
  if (b.escaped < into.escaped) {
    into.escaped = b.escaped;
    changed = true;
  }
  if (into.sp !== b.sp) {
    changed ||= into.sp !== null || into.stack.size > 0;
    into.sp = null;
    into.stack.clear();
    return changed;
  }
  for (const [k, v] of into.stack) {
    const w = b.stack.get(k);
    const u = w === undefined ? null : union(v, w);
    if (u === null) into.stack.delete(k);
    else if (u !== v) into.stack.set(k, u);
    changed ||= u !== v;
  }
  return changed;
}
