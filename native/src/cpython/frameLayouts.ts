// Offsets of the CPython 3.8–3.13 structures frames.ts follows (x86-64, GIL builds), from offsetof() on each version's
// headers by scripts/python-frame-offsets.sh; test/unit/python-frames.test.ts fails when a number here differs.

import type { PyVersion } from './abi';

/** Byte offsets of the fields of one structure (plus bit masks for PyASCIIObject.state). */
export type Offsets = Readonly<Record<string, number>>;

/** The part of a layout that the offsetof() oracle prints, group by group, exactly as it prints it. */
export interface FrameOffsets {
  /** _PyRuntimeState: interpreters.head. */
  readonly runtime: Offsets;
  /** PyInterpreterState: next, threads_head (tstate_head before 3.11, threads.head after), modules (sys.modules; imports.modules from 3.12). */
  readonly interp: Offsets;
  /** PyThreadState: next, interp, thread_id (a pthread_t), native_thread_id (3.11+), and the frame link. */
  readonly tstate: Offsets;
  /** _PyCFrame (3.11, 3.12): current_frame. */
  readonly cframe?: Offsets;
  /** PyFrameObject (3.8–3.10): f_back, f_code, f_lasti (int), f_lineno (int). */
  readonly frame?: Offsets;
  /** _PyInterpreterFrame (3.11+): previous, code (f_code / f_executable), instr (prev_instr / instr_ptr), owner. */
  readonly iframe?: Offsets;
  /** The values of the frame owner enum (3.11+). */
  readonly owner?: Offsets;
  /** PyCodeObject: co_filename, co_name, co_qualname (3.11+), co_firstlineno (int), line_table, co_code(_adaptive). */
  readonly code: Offsets;
  readonly object: Offsets;
  readonly bytes: Offsets;
  /** PyASCIIObject / PyCompactUnicodeObject offsets and sizes, and the state bit-field masks. */
  readonly unicode: Offsets;
  /** PyDictObject: ma_keys. */
  readonly dict: Offsets;
  /**
   * PyDictKeysObject (3.11+, internal): dk_log2_size, dk_log2_index_bytes, dk_kind, dk_nentries, dk_indices; the kind
   * of str-only keys, the sizes of both entry kinds and where a general entry keeps its key.
   */
  readonly dictkeys?: Offsets;
  /** 3.13: where _Py_DebugOffsets (at the start of _PyRuntime) holds each offset, by `group.field`. */
  readonly debug?: Offsets;
}

/** How a version's co_linetable / co_lnotab encodes line numbers. */
export type LineTableFormat =
  /** 3.8–3.9 co_lnotab: (byte delta, signed line delta) pairs. */
  | 'lnotab'
  /** 3.10 co_linetable: (byte delta, signed line delta) pairs; −128 marks "no line". */
  | 'linetable'
  /** 3.11+ co_linetable: the location table of Objects/locations.md, in code units. */
  | 'locations';

export interface FrameLayout {
  readonly version: PyVersion;
  readonly offsets: FrameOffsets;
  /**
   * Bytes per unit of PyFrameObject.f_lasti (3.8–3.10): 1 in 3.8–3.9 (a byte offset), 2 in 3.10 (an index of
   * 2-byte code units, bpo-27129). Not printed by the oracle: from each version's Objects/frameobject.c f_lasti getter.
   */
  readonly lastiUnit?: number;
  readonly lineTable: LineTableFormat;
  /**
   * 3.8–3.10 PyDictKeysObject, which no installed header declares (Objects/dict-common.h): dk_size, dk_nentries and
   * dk_indices (each index 1, 2, 4 or 8 bytes wide by dk_size), then entries of {me_hash, me_key, me_value}.
   */
  readonly legacyDictKeys?: Offsets;
}

/** Objects/dict-common.h of 3.8, 3.9 and 3.10 (the same struct in each): Py_ssize_t dk_refcnt, dk_size; dk_lookup; dk_usable, dk_nentries. */
const LEGACY_DICT_KEYS = { dk_size: 8, dk_nentries: 32, dk_indices: 40, entry_size: 24, entry_key: 8 };
const DICT = { ma_keys: 32 };
const DICT_KEYS = { dk_log2_size: 8, dk_log2_index_bytes: 9, dk_kind: 10, dk_nentries: 24, dk_indices: 32, unicode_kind: 1, entry_size: 24, unicode_entry_size: 16, entry_key: 8 };

const OBJECT = { ob_type: 8, ob_size: 16 };
const BYTES = { ob_sval: 32 };
/** PyASCIIObject kept its wstr pointer until 3.11 (48 bytes); 3.12 removed it (40). */
const UNICODE_WSTR = { length: 16, state: 32, ascii_size: 48, compact_size: 72, utf8_length: 48, utf8: 56, kind_mask: 28, compact_mask: 32, ascii_mask: 64 };
const UNICODE_312 = { length: 16, state: 32, ascii_size: 40, compact_size: 56, utf8_length: 40, utf8: 48, kind_mask: 28, compact_mask: 32, ascii_mask: 64 };

const LEGACY_38_39: FrameOffsets = {
  runtime: { interpreters_head: 32 },
  interp: { next: 0, threads_head: 8, modules: 856 },
  tstate: { next: 8, interp: 16, frame: 24, thread_id: 176 },
  frame: { f_back: 24, f_code: 32, f_lasti: 104, f_lineno: 108 },
  code: { co_filename: 104, co_name: 112, co_code: 48, co_firstlineno: 40, line_table: 120 },
  object: OBJECT,
  bytes: BYTES,
  unicode: UNICODE_WSTR,
  dict: DICT,
};

export const FRAME_LAYOUTS: Readonly<Record<PyVersion, FrameLayout>> = {
  '3.8': { version: '3.8', offsets: { ...LEGACY_38_39, interp: { next: 0, threads_head: 8, modules: 56 } }, lastiUnit: 1, lineTable: 'lnotab', legacyDictKeys: LEGACY_DICT_KEYS },
  '3.9': { version: '3.9', offsets: LEGACY_38_39, lastiUnit: 1, lineTable: 'lnotab', legacyDictKeys: LEGACY_DICT_KEYS },
  '3.10': {
    version: '3.10',
    offsets: { ...LEGACY_38_39, frame: { f_back: 24, f_code: 32, f_lasti: 96, f_lineno: 100 } },
    lastiUnit: 2,
    lineTable: 'linetable',
    legacyDictKeys: LEGACY_DICT_KEYS,
  },
  '3.11': {
    version: '3.11',
    offsets: {
      runtime: { interpreters_head: 40 },
      interp: { next: 0, threads_head: 16, modules: 888 },
      tstate: { next: 8, interp: 16, cframe: 56, thread_id: 152, native_thread_id: 160 },
      cframe: { current_frame: 8 },
      iframe: { previous: 48, code: 32, instr: 56, owner: 69, is_entry: 68 },
      owner: { thread: 0, generator: 1, frame_object: 2 },
      code: { co_filename: 112, co_name: 120, co_qualname: 128, co_code_adaptive: 184, co_firstlineno: 72, line_table: 136 },
      object: OBJECT,
      bytes: BYTES,
      unicode: UNICODE_WSTR,
      dict: DICT,
      dictkeys: DICT_KEYS,
    },
    lineTable: 'locations',
  },
  '3.12': {
    version: '3.12',
    offsets: {
      runtime: { interpreters_head: 40 },
      interp: { next: 0, threads_head: 72, modules: 944 },
      tstate: { next: 8, interp: 16, cframe: 56, thread_id: 136, native_thread_id: 144 },
      cframe: { current_frame: 0 },
      iframe: { previous: 8, code: 0, instr: 56, owner: 70 },
      owner: { thread: 0, generator: 1, frame_object: 2, cstack: 3 },
      code: { co_filename: 112, co_name: 120, co_qualname: 128, co_code_adaptive: 192, co_firstlineno: 68, line_table: 136 },
      object: OBJECT,
      bytes: BYTES,
      unicode: UNICODE_312,
      dict: DICT,
      dictkeys: DICT_KEYS,
    },
    lineTable: 'locations',
  },
  '3.13': {
    version: '3.13',
    offsets: {
      runtime: { interpreters_head: 632 },
      interp: { next: 7264, threads_head: 7344, modules: 7656 },
      tstate: { next: 8, interp: 16, current_frame: 72, thread_id: 152, native_thread_id: 160 },
      iframe: { previous: 8, code: 0, instr: 56, owner: 70 },
      owner: { thread: 0, generator: 1, frame_object: 2, cstack: 3 },
      code: { co_filename: 112, co_name: 120, co_qualname: 128, co_code_adaptive: 200, co_firstlineno: 68, line_table: 136 },
      object: OBJECT,
      bytes: BYTES,
      unicode: UNICODE_312,
      dict: DICT,
      dictkeys: DICT_KEYS,
      debug: {
        cookie: 0, version: 8, free_threaded: 16, 'runtime.interpreters_head': 40, 'interp.next': 64, 'interp.threads_head': 72, 'interp.modules': 88, 'dict.ma_keys': 456,
        'tstate.next': 168, 'tstate.interp': 176, 'tstate.current_frame': 184, 'tstate.thread_id': 192,
        'tstate.native_thread_id': 200, 'iframe.previous': 232, 'iframe.code': 240, 'iframe.instr': 248, 'iframe.owner': 264,
        'code.co_filename': 280, 'code.co_name': 288, 'code.co_qualname': 296, 'code.line_table': 304,
        'code.co_firstlineno': 312, 'code.co_code_adaptive': 344, 'object.ob_type': 360, 'bytes.ob_sval': 528,
        'unicode.length': 552, 'unicode.state': 544, 'unicode.ascii_size': 560, size: 584,
      },
    },
    lineTable: 'locations',
  },
};
