// Parser for the .eh_frame call-frame tables (CIEs and FDEs) and the .eh_frame_hdr header, used to find
// function extents in stripped libraries: each FDE names the [start, end) of one function (or part of one).

import { NativeError } from '../errors';
import {
  DW_EH_PE_absptr,
  DW_EH_PE_aligned,
  DW_EH_PE_datarel,
  DW_EH_PE_omit,
  DW_EH_PE_pcrel,
  DW_EH_PE_sdata2,
  DW_EH_PE_sdata4,
  DW_EH_PE_sdata8,
  DW_EH_PE_sleb128,
  DW_EH_PE_textrel,
  DW_EH_PE_udata2,
  DW_EH_PE_udata4,
  DW_EH_PE_udata8,
  DW_EH_PE_uleb128,
} from './elfConstants';
import { LeReader, readCString, readSleb, readUleb } from './binary';

/** One FDE's code range, at link-time virtual addresses: [start, end). */
export interface FdeRange {
  start: number;
  end: number;
  /**
   * The FDE names a language-specific data area (its augmentation data is not all zero): the function has
   * landing pads (C++ catch and cleanup code, C `__attribute__((cleanup))`) that the unwinder enters from a
   * callee's frame, an edge its own control flow does not show.
   */
  lsda?: true;
}

/** Where the .eh_frame bytes live and the bases that relative pointer encodings refer to. */
export interface EhFrameLocation {
  /** Link-time virtual address of bytes[0] (the base of DW_EH_PE_pcrel). */
  vaddr: number;
  /** Base of DW_EH_PE_datarel (the GOT on x86-64), when known. */
  dataRelBase?: number;
  /** Base of DW_EH_PE_textrel, when known. */
  textRelBase?: number;
  /** Name for messages (file and section). */
  what: string;
}

const PCREL_SDATA4 = DW_EH_PE_pcrel | DW_EH_PE_sdata4;

interface Cie {
  /** Pointer encoding of FDE addresses (the 'R' augmentation); absptr without one. */
  fdeEncoding: number;
  /** Whether FDEs of this CIE carry an augmentation-data length (augmentation starts with 'z'). */
  hasAugData: boolean;
  /** False when the augmentation string is one we cannot step over, so its FDEs are skipped. */
  usable: boolean;
}

interface EncodedPointer {
  /** The decoded address, or undefined when the encoding's base is unknown (textrel/funcrel without base). */
  value: number | undefined;
  length: number;
}

/**
 * Decodes one DW_EH_PE_* encoded value at `pos` (the field's virtual address is `fieldVaddr`).
 * Throws 'malformed' for a format nibble that does not exist or a field that runs past `end`.
 */
export function readEncodedPointer(
  r: LeReader,
  pos: number,
  end: number,
  encoding: number,
  fieldVaddr: number,
  bases: { dataRelBase?: number; textRelBase?: number } = {},
): EncodedPointer {
  if (encoding === DW_EH_PE_omit) return { value: undefined, length: 0 };
  const app = encoding & 0x70;
  let start = pos;
  if (app === DW_EH_PE_aligned) {
    // Aligned pointers are absolute, 8-byte aligned in the address space.
    const misalign = (fieldVaddr % 8 + 8) % 8;
    start = pos + (misalign === 0 ? 0 : 8 - misalign);
  }
  const format = app === DW_EH_PE_aligned ? DW_EH_PE_absptr : encoding & 0x0f;
  const { raw, size } = readRawPointer(r, pos, start, end, format, encoding);
  const length = start - pos + size;
  return { value: applyPointer(app, raw, fieldVaddr + (start - pos), bases), length };
}

/**
 * Parses every CIE and FDE of an .eh_frame image and returns the FDE code ranges (unsorted, as stored).
 * Stops at the zero-length terminator or the end of the bytes. Every record length is checked against
 * the image and every loop advances, so corrupt input ends in a NativeError('malformed'), never a hang.
 */
export function parseEhFrame(bytes: Uint8Array, loc: EhFrameLocation): FdeRange[] {
  const r = new LeReader(bytes, loc.what);
  const cies = new Map<number, Cie>();
  const out: FdeRange[] = [];
  let pos = 0;
  const size = bytes.length;
  while (pos + 4 <= size) {
    const recordStart = pos;
    let length = r.u32(pos);
    let headerSize = 4;
    if (length === 0) break; // The terminator.
    if (length === 0xffffffff) {
      if (pos + 12 > size) throw malformed(loc.what, `64-bit record length at ${pos} is truncated`);
      length = r.u64(pos + 4);
      headerSize = 12;
    }
    const bodyStart = pos + headerSize;
    const end = bodyStart + length;
    if (!Number.isSafeInteger(end) || end > size || length < 4) {
      throw malformed(loc.what, `record at ${recordStart} declares ${length} bytes, past the end of the ${size}-byte section`);
    }
    const idSize = headerSize === 12 ? 8 : 4;
    if (bodyStart + idSize > end) throw malformed(loc.what, `record at ${recordStart} is too short for its id`);
    const id = idSize === 8 ? r.u64(bodyStart) : r.u32(bodyStart);
    if (id !== 0) {
      // An FDE: the id is the distance back from the id field to its CIE.
      const ciePos = bodyStart - id;
      let cie = cies.get(ciePos);
      if (cie === undefined) {
        if (ciePos < 0 || ciePos >= recordStart) throw malformed(loc.what, `FDE at ${recordStart} points to a CIE outside the section`);
        cie = parseCie(r, ciePos, loc);
        cies.set(ciePos, cie);
      }
      if (cie.usable && cie.fdeEncoding === PCREL_SDATA4) {
        // The encoding every x86-64 toolchain emits: two 32-bit fields, the first relative to itself.
        const p = bodyStart + idSize;
        if (p + 8 > end) throw malformed(loc.what, `FDE at ${recordStart} is too short for its address range`);
        const start = loc.vaddr + p + r.i32(p);
        const stop = start + r.i32(p + 4);
        if (stop > start && start >= 0 && Number.isSafeInteger(stop)) out.push(withLsda({ start, end: stop }, cie, bytes, p + 8, end, loc.what));
      } else if (cie.usable) {
        const p = bodyStart + idSize;
        const begin = readEncodedPointer(r, p, end, cie.fdeEncoding, loc.vaddr + p, loc);
        const range = readEncodedPointer(r, p + begin.length, end, cie.fdeEncoding & 0x0f, loc.vaddr + p + begin.length);
        if (begin.value !== undefined && range.value !== undefined && range.value > 0) {
          const start = begin.value;
          const stop = start + range.value;
          if (Number.isSafeInteger(start) && Number.isSafeInteger(stop) && start >= 0) out.push(withLsda({ start, end: stop }, cie, bytes, p + begin.length + range.length, end, loc.what));
        }
      }
    } else if (!cies.has(recordStart)) {
      cies.set(recordStart, parseCie(r, recordStart, loc));
    }
    pos = end;
  }
  return out;
}

/** Marks `fde` when its augmentation data (at `p`, after the address range) is present and not all zero: an LSDA. */
function withLsda(fde: FdeRange, cie: Cie, bytes: Uint8Array, p: number, end: number, what: string): FdeRange {
  if (!cie.hasAugData || p >= end) return fde;
  const len = readUleb(bytes, p, end, what);
  const from = p + len.length;
  const to = Math.min(end, from + len.value);
  for (let i = from; i < to; i++) {
    if (bytes[i] !== 0) {
      fde.lsda = true;
      break;
    }
  }
  return fde;
}

function malformed(what: string, detail: string): NativeError {
  return new NativeError('malformed', `${what}: ${detail}.`, { subject: what });
}

/** Parses the CIE whose length field is at `pos`; only what FDE decoding needs. */
function parseCie(r: LeReader, pos: number, loc: EhFrameLocation): Cie {
  const bytes = r.bytes;
  if (pos + 4 > bytes.length) throw malformed(loc.what, `CIE at ${pos} is truncated`);
  let length = r.u32(pos);
  let headerSize = 4;
  if (length === 0xffffffff) {
    if (pos + 12 > bytes.length) throw malformed(loc.what, `CIE at ${pos} is truncated`);
    length = r.u64(pos + 4);
    headerSize = 12;
  }
  const body = pos + headerSize;
  const end = body + length;
  if (length === 0 || !Number.isSafeInteger(end) || end > bytes.length) throw malformed(loc.what, `CIE at ${pos} has a bad length`);
  const idSize = headerSize === 12 ? 8 : 4;
  if (body + idSize + 1 > end) throw malformed(loc.what, `CIE at ${pos} is truncated`);
  const id = idSize === 8 ? r.u64(body) : r.u32(body);
  if (id !== 0) throw malformed(loc.what, `record at ${pos} referenced as a CIE is an FDE`);
  let p = body + idSize;
  const version = bytes[p++];
  if (version !== 1 && version !== 3 && version !== 4) return { fdeEncoding: DW_EH_PE_absptr, hasAugData: false, usable: false };
  const aug = readCString(bytes, p, end, loc.what);
  p = aug.next;
  const augmentation = aug.value;
  if (augmentation.startsWith('eh')) p += 8; // Old GCC's eh_ptr.
  if (version === 4) p += 2; // address_size and segment_selector_size.
  p += readUleb(bytes, p, end, loc.what).length; // code_alignment_factor
  p += readSleb(bytes, p, end, loc.what).length; // data_alignment_factor
  p += version === 1 ? 1 : readUleb(bytes, p, end, loc.what).length; // return_address_register
  if (p > end) throw malformed(loc.what, `CIE at ${pos} is truncated`);
  let fdeEncoding = DW_EH_PE_absptr;
  if (augmentation === '') return { fdeEncoding, hasAugData: false, usable: true };
  if (!augmentation.startsWith('z')) return { fdeEncoding, hasAugData: false, usable: false };
  const augLen = readUleb(bytes, p, end, loc.what);
  p += augLen.length;
  const augEnd = p + augLen.value;
  if (augEnd > end) throw malformed(loc.what, `CIE at ${pos} has augmentation data past its end`);
  for (let i = 1; i < augmentation.length; i++) {
    const c = augmentation[i];
    if (c === 'R') {
      if (p >= augEnd) throw malformed(loc.what, `CIE at ${pos} lacks its 'R' encoding byte`);
      fdeEncoding = bytes[p++];
    } else if (c === 'L') {
      p++; // LSDA encoding byte.
    } else if (c === 'P') {
      if (p >= augEnd) throw malformed(loc.what, `CIE at ${pos} lacks its personality encoding`);
      const enc = bytes[p++];
      p += readEncodedPointer(r, p, augEnd, enc & 0x7f, loc.vaddr + p, loc).length;
    } else if (c === 'S' || c === 'B' || c === 'G') {
      // Signal frame, AArch64 B-key and MTE markers carry no data.
    } else {
      break; // Unknown letter: the augmentation length lets us ignore the rest.
    }
  }
  if (fdeEncoding !== DW_EH_PE_omit && (fdeEncoding & 0x70) > DW_EH_PE_aligned) return { fdeEncoding, hasAugData: true, usable: false };
  const textrelOk = (fdeEncoding & 0x70) !== DW_EH_PE_textrel || loc.textRelBase !== undefined;
  return { fdeEncoding, hasAugData: true, usable: textrelOk && fdeEncoding !== DW_EH_PE_omit };
}

/** The parts of .eh_frame_hdr we use: where .eh_frame starts and how many FDEs the lookup table lists. */
export interface EhFrameHdr {
  ehFrameVaddr: number | undefined;
  fdeCount: number | undefined;
}

/** Parses an .eh_frame_hdr image located at link-time address `vaddr`. */
export function parseEhFrameHdr(bytes: Uint8Array, vaddr: number, what: string): EhFrameHdr {
  const r = new LeReader(bytes, what);
  if (bytes.length < 4) throw malformed(what, 'eh_frame_hdr is shorter than its 4-byte header');
  const version = bytes[0];
  if (version !== 1) throw malformed(what, `eh_frame_hdr has unknown version ${version}`);
  const ptrEnc = bytes[1];
  const countEnc = bytes[2];
  const ptr = readEncodedPointer(r, 4, bytes.length, ptrEnc, vaddr + 4, { dataRelBase: vaddr });
  let fdeCount: number | undefined;
  if (countEnc !== DW_EH_PE_omit) {
    const p = 4 + ptr.length;
    fdeCount = readEncodedPointer(r, p, bytes.length, countEnc, vaddr + p, { dataRelBase: vaddr }).value;
  }
  return { ehFrameVaddr: ptr.value, fdeCount };
}

/** The stored value of an encoded pointer at `start` in format `format` (the low nibble), and its size. */
function readRawPointer(r: LeReader, pos: number, start: number, end: number, format: number, encoding: number): { raw: number; size: number } {
  let raw: number;
  let size: number;
  const need = (n: number) => {
    if (start + n > end) {
      throw new NativeError('malformed', `${r.what}: encoded pointer at ${pos} runs past the end of its record.`, { subject: r.what });
    }
  };
  switch (format) {
    case DW_EH_PE_absptr:
    case DW_EH_PE_udata8:
      need(8);
      raw = r.u64(start);
      size = 8;
      break;
    case DW_EH_PE_sdata8:
      need(8);
      raw = r.i64(start);
      size = 8;
      break;
    case DW_EH_PE_udata2:
      need(2);
      raw = r.u16(start);
      size = 2;
      break;
    case DW_EH_PE_sdata2:
      need(2);
      raw = r.i16(start);
      size = 2;
      break;
    case DW_EH_PE_udata4:
      need(4);
      raw = r.u32(start);
      size = 4;
      break;
    case DW_EH_PE_sdata4:
      need(4);
      raw = r.i32(start);
      size = 4;
      break;
    case DW_EH_PE_uleb128: {
      const l = readUleb(r.bytes, start, end, r.what);
      raw = l.value;
      size = l.length;
      break;
    }
    case DW_EH_PE_sleb128: {
      const l = readSleb(r.bytes, start, end, r.what);
      raw = l.value;
      size = l.length;
      break;
    }
    default:
      throw new NativeError('malformed', `${r.what}: unknown pointer encoding 0x${encoding.toString(16)}.`, { subject: r.what });
  }
  return { raw, size };
}

/** What an encoded pointer's stored value means under its application (high nibble); `at` is the field's address. */
function applyPointer(app: number, raw: number, at: number, bases: { dataRelBase?: number; textRelBase?: number }): number | undefined {
  let value: number | undefined;
  switch (app) {
    case 0:
    case DW_EH_PE_aligned:
      value = raw;
      break;
    case DW_EH_PE_pcrel:
      value = at + raw;
      break;
    case DW_EH_PE_datarel:
      value = bases.dataRelBase === undefined ? undefined : bases.dataRelBase + raw;
      break;
    case DW_EH_PE_textrel:
      value = bases.textRelBase === undefined ? undefined : bases.textRelBase + raw;
      break;
    default:
      // funcrel and unknown applications have no meaning for FDE addresses.
      value = undefined;
  }
  return value;
}
