// The values the register tracker of a function summary follows (summaryState.ts), and the chains read past its short
// window in a function decoded whole: which of them hold, from the function's jumps into itself (where paths join).

import { upperBound } from '../upperBound';
import type { Chain } from './summaryTypes';

export interface TrackedValue {
  base: number;
  derefs: number[];
  /** Instruction counter when the value was defined; values expire after a short window. */
  born: number;
  /** The callee-saved registers whose function-wide values this one derives from. */
  deps?: number[];
  /** Index in `refs` of the lea/mov-immediate that produced this address, while only this register holds it. */
  ref?: number;
  /**
   * Where the value was first computed on the straight path (the oldest instruction it depends on, a function-wide
   * register's value aside): a stretched chain (below) holds only if no jump lands between there and its use.
   */
  from: number;
  /** Set when the value was read past TRACK_WINDOW (or derives from one that was): see STRETCH_WINDOW. */
  stretched?: boolean;
}

export const MAX_DEREFS = 4;
export const TRACK_WINDOW = 16;

/** A copy of a tracked value into another register (at `ip`): the address is no longer held by one register only. */
export function copied(src: TrackedValue, ip: number): TrackedValue {
  const from = src.from < 0 ? ip : src.from;
  if (src.ref === undefined) return { ...src, from };
  const { ref: _ref, ...rest } = src;
  src.ref = undefined;
  return { ...rest, from };
}

/**
 * In a function decoded whole (its extent, linearly), a value may be read up to this many instructions after it was
 * computed, when every path to the use went through the computation (see StretchedChains.broken). OpenBLAS loads
 * `gotoblas` and calls through it twenty instructions later (`mov rax,[r15]` … `call [rax+0x6e8]`).
 */
export const STRETCH_WINDOW = 128;

/** The stretched chains of one function, and the jumps that decide whether they hold. */
export class StretchedChains {
  /** The targets of the function's direct jumps and calls inside it, with their sources (-1: a call, from anywhere). */
  private readonly labels: Array<{ target: number; source: number }> = [];
  private readonly chains: Array<{ chain: Chain; from: number }> = [];
  private indirectJump = false;

  /** A direct jump (or call) of the function to `target`, inside it. */
  label(target: number, source: number): void {
    this.labels.push({ target, source });
  }

  /** The function has an indirect jump: a switch's cases are labels no direct jump shows. */
  sawIndirectJump(): void {
    this.indirectJump = true;
  }

  /** A chain whose value was computed at `from` and read past the short window. */
  add(chain: Chain, from: number): void {
    this.chains.push({ chain, from });
  }

  /**
   * The chains that do not hold. One holds when every path to its call went through where its value was computed: no
   * jump from outside the span between the two lands inside it (a loop's back edge or a skip within the span is fine:
   * the straight path from the computation to the jump wrote the register nowhere, or it would not be tracked), and
   * the function has no indirect jump.
   */
  broken(): Chain[] {
    if (this.chains.length === 0) return [];
    if (this.indirectJump) return this.chains.map((c) => c.chain);
    const labels = this.labels.sort((a, b) => a.target - b.target);
    const out: Chain[] = [];
    for (const { chain, from } of this.chains) {
      for (let k = upperBound(labels.length, (i) => labels[i].target > from); k < labels.length && labels[k].target <= chain.site; k++) {
        if (labels[k].source < from || labels[k].source > chain.site) {
          out.push(chain);
          break;
        }
      }
    }
    return out;
  }
}
