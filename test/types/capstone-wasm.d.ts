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
    disasm(data: number[] | Uint8Array, options?: { address?: number | bigint; count?: number }): Insn[];
    close(): void;
  }
  export const Const: { CS_ARCH_X86: number; CS_MODE_64: number };
  export function loadCapstone(args?: Record<string, unknown>): Promise<void>;
}
