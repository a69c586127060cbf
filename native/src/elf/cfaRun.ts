// The interpreter of the common DW_CFA operations (DWARF 5 §6.4.2) over one CIE's or FDE's instructions, up to
// a pc: location advances, register rules, CFA rules and the remember/restore stack (for cfi.ts's rowAt).

import type { LeReader } from './binary';
import { readSleb, readUleb } from './binary';
import type { Cie, RegisterRule } from './cfi';
import { readEncodedPointer } from './ehFrame';

/** The .eh_frame image the instructions are in (for their encoded pointers and error messages). */
export interface CfaImage {
  bytes: Uint8Array;
  r: LeReader;
  what: string;
  vaddr: number;
  bases: { dataRelBase?: number; textRelBase?: number };
}

/** The row being built: the CFA rule and the register rules. */
export interface CfaState {
  cfa?: { register: number; offset: number };
  rules: Map<number, RegisterRule>;
}

/** One run of CFA instructions over `range`, from location `start` until the location passes `pc`. */
export class CfaRun {
  private p: number;
  private loc: number;
  private readonly end: number;
  private readonly stack: CfaState[] = [];

  constructor(
    private readonly image: CfaImage,
    private readonly cie: Cie,
    range: { start: number; end: number },
    private readonly state: CfaState,
    /** The rules after the CIE's instructions (DW_CFA_restore goes back to them); undefined in the CIE. */
    private readonly initial: Map<number, RegisterRule> | undefined,
    start: number,
    private readonly pc: number,
  ) {
    this.p = range.start;
    this.end = range.end;
    this.loc = start;
  }

  run(): void {
    const b = this.image.bytes;
    while (this.p < this.end) {
      const op = b[this.p++];
      if (!this.step(op)) return;
    }
  }

  /** One operation; false ends the run (the location passed pc, or the rest cannot be read or trusted). */
  private step(op: number): boolean {
    const high = op & 0xc0;
    const low = op & 0x3f;
    if (high === 0x40) return !this.advance(low);
    if (high === 0x80) {
      this.state.rules.set(low, { kind: 'offset', offset: this.uleb() * this.cie.dataAlign });
      return true;
    }
    if (high === 0xc0) {
      this.restore(low);
      return true;
    }
    if (op <= 0x04) return this.location(op);
    if (op === 0x0a || op === 0x0b) {
      this.remember(op === 0x0a);
      return true;
    }
    if ((op >= 0x0c && op <= 0x0f) || op === 0x12 || op === 0x13) {
      this.cfaRule(op);
      return true;
    }
    return this.registerRule(op);
  }

  private uleb(): number {
    const l = readUleb(this.image.bytes, this.p, this.end, this.image.what);
    this.p += l.length;
    return l.value;
  }

  private sleb(): number {
    const l = readSleb(this.image.bytes, this.p, this.end, this.image.what);
    this.p += l.length;
    return l.value;
  }

  /** Moves the location by `delta` code units; true when it passed pc. */
  private advance(delta: number): boolean {
    this.loc += delta * this.cie.codeAlign;
    return this.loc > this.pc;
  }

  private restore(reg: number): void {
    const r = this.initial?.get(reg);
    if (r) this.state.rules.set(reg, r);
    else this.state.rules.delete(reg);
  }

  /** nop, set_loc and advance_loc1/2/4: false when the location passed pc or the operand is cut. */
  private location(op: number): boolean {
    const { bytes: b, r } = this.image;
    switch (op) {
      case 0x00: // nop
        return true;
      case 0x01: {
        // set_loc
        const v = readEncodedPointer(r, this.p, this.end, this.cie.fdeEncoding, this.image.vaddr + this.p, this.image.bases);
        this.p += v.length;
        if (v.value === undefined) return false;
        this.loc = v.value;
        return this.loc <= this.pc;
      }
      case 0x02:
        if (this.p + 1 > this.end) return false;
        return !this.advance(b[this.p++]);
      case 0x03:
        if (this.p + 2 > this.end) return false;
        this.p += 2;
        return !this.advance(r.u16(this.p - 2));
      default:
        if (this.p + 4 > this.end) return false;
        this.p += 4;
        return !this.advance(r.u32(this.p - 4));
    }
  }

  /** remember_state (push) and restore_state (pop). */
  private remember(push: boolean): void {
    const state = this.state;
    if (push) {
      this.stack.push({ cfa: state.cfa && { ...state.cfa }, rules: new Map(state.rules) });
      return;
    }
    const s = this.stack.pop();
    if (s) {
      state.cfa = s.cfa;
      state.rules = s.rules;
    }
  }

  /** def_cfa, def_cfa_register, def_cfa_offset, def_cfa_expression, def_cfa_sf, def_cfa_offset_sf. */
  private cfaRule(op: number): void {
    const state = this.state;
    switch (op) {
      case 0x0c: {
        const reg = this.uleb();
        state.cfa = { register: reg, offset: this.uleb() };
        break;
      }
      case 0x0d: {
        const reg = this.uleb();
        state.cfa = { register: reg, offset: state.cfa?.offset ?? 0 };
        break;
      }
      case 0x0e:
        if (state.cfa) state.cfa = { register: state.cfa.register, offset: this.uleb() };
        else this.uleb();
        break;
      case 0x0f: {
        // def_cfa_expression: the CFA is computed; we do not evaluate DWARF expressions.
        const n = this.uleb();
        this.p += n;
        state.cfa = undefined;
        break;
      }
      case 0x12: {
        const reg = this.uleb();
        state.cfa = { register: reg, offset: this.sleb() * this.cie.dataAlign };
        break;
      }
      default: // 0x13
        if (state.cfa) state.cfa = { register: state.cfa.register, offset: this.sleb() * this.cie.dataAlign };
        else this.sleb();
        break;
    }
  }

  /** The register rules (and GNU_args_size); an unknown operation ends the run with no CFA (false). */
  private registerRule(op: number): boolean {
    const rules = this.state.rules;
    const dataAlign = this.cie.dataAlign;
    switch (op) {
      case 0x05: {
        const reg = this.uleb();
        rules.set(reg, { kind: 'offset', offset: this.uleb() * dataAlign });
        return true;
      }
      case 0x06:
        this.restore(this.uleb());
        return true;
      case 0x07:
        rules.set(this.uleb(), { kind: 'undefined' });
        return true;
      case 0x08:
        rules.set(this.uleb(), { kind: 'same' });
        return true;
      case 0x09: {
        const reg = this.uleb();
        rules.set(reg, { kind: 'register', register: this.uleb() });
        return true;
      }
      case 0x10:
      case 0x16: {
        // expression / val_expression
        const reg = this.uleb();
        this.p += this.uleb();
        rules.set(reg, { kind: 'unsupported' });
        return true;
      }
      case 0x11: {
        const reg = this.uleb();
        rules.set(reg, { kind: 'offset', offset: this.sleb() * dataAlign });
        return true;
      }
      case 0x14: {
        const reg = this.uleb();
        rules.set(reg, { kind: 'valOffset', offset: this.uleb() * dataAlign });
        return true;
      }
      case 0x15: {
        const reg = this.uleb();
        rules.set(reg, { kind: 'valOffset', offset: this.sleb() * dataAlign });
        return true;
      }
      case 0x2e: // GNU_args_size
        this.uleb();
        return true;
      case 0x2f: {
        const reg = this.uleb();
        rules.set(reg, { kind: 'offset', offset: -this.uleb() * dataAlign });
        return true;
      }
      default:
        // An operation we do not know: the rest of the row cannot be trusted.
        this.state.cfa = undefined;
        return false;
    }
  }
}
