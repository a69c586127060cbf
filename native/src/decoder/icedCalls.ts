// The three iced-x86 calls of the decoding loop (decodeOut, code, length), on raw wasm pointers when the iced
// build exports them (the wrappers' class checks cost a tenth of the loop), else through the wrappers.

import * as iced from 'iced-x86';

interface WasmObject {
  __wbg_ptr: number;
}
/** The three calls of the decoding loop, on handles: raw pointers into iced's wasm, or (fallback) the objects. */
interface Decoding {
  handle(o: iced.Decoder | iced.Instruction): unknown;
  decodeOut(decoder: unknown, ins: unknown): void;
  code(ins: unknown): number;
  length(ins: unknown): number;
}
type RawExports = { decoder_decodeOut?(d: number, i: number): void; instruction_code?(i: number): number; instruction_length?(i: number): number };
let decoding: Decoding | undefined;
/**
 * The wasm exports behind decodeOut/code/length, called directly: the wrappers' class checks cost a tenth of
 * the loop. An iced-x86 build that does not export them (`__wasm`, wasm-bindgen's `__wbg_ptr`) gets the
 * wrappers instead. Settled on first use: the bundles load iced's wasm only then (esbuild.mjs, lazyIcedWasm).
 */
export function icedDecoding(): Decoding {
  decoding ??= choose();
  return decoding;
}

function choose(): Decoding {
  const RAW = (iced as unknown as { __wasm?: RawExports }).__wasm;
  const probe = new iced.Instruction();
  const pointers = typeof (probe as unknown as Partial<WasmObject>).__wbg_ptr === 'number';
  probe.free();
  if (pointers && RAW && typeof RAW.decoder_decodeOut === 'function' && typeof RAW.instruction_code === 'function' && typeof RAW.instruction_length === 'function') {
    const { decoder_decodeOut, instruction_code, instruction_length } = RAW as Required<RawExports>;
    return {
      handle: (o) => (o as unknown as WasmObject).__wbg_ptr,
      decodeOut: (d, i) => decoder_decodeOut(d as number, i as number),
      code: (i) => instruction_code(i as number),
      length: (i) => instruction_length(i as number) >>> 0,
    };
  }
  return {
    handle: (o) => o,
    decodeOut: (d, i) => (d as iced.Decoder).decodeOut(i as iced.Instruction),
    code: (i) => (i as iced.Instruction).code,
    length: (i) => (i as iced.Instruction).length,
  };
}
