// Types for the parts of capstone-wasm the tests use. The package's own declarations sit behind an ESM-only
// exports map that CommonJS test files cannot import under node16 resolution, so they are restated here.
declare module 'capstone-wasm' {
  export interface Insn {
    id: number;
    address: number | bigint;
    size: number;
    bytes: Uint8Array;
    mnemonic: string;
    opStr: string;
  }
  export class Capstone {
    constructor(arch: number, mode: number);
    /** The cs_open handle (for Capstone.call). */
    readonly handle: number;
    disasm(data: number[] | Uint8Array, options?: { address?: number | bigint; count?: number }): Insn[];
    setOption(opt: number, value: number): number;
    getGroupName(id: number): string;
    close(): void;
    /** Calls a capstone C function (cs_disasm, cs_insn_group, cs_free, malloc, free, ...) through ccall. */
    static call(name: string, ...args: unknown[]): unknown;
  }
  export const Const: { CS_ARCH_X86: number; CS_MODE_64: number; CS_OPT_DETAIL: number; CS_OPT_ON: number };
  /** Instantiates the wasm module; `args` is the emscripten module object, which receives its heap accessors. */
  export function loadCapstone(args?: Record<string, unknown>): Promise<void>;
}
