// The operand forms an instruction's iced Code name lists (`Add_rm64_r64`, `VEX_Vpextrb_r64m8_xmm_imm8`): whether
// its first operand can be a general-purpose register, read without iced's opcode tables.

import * as iced from 'iced-x86';

/** Tokens of iced Code names that can be a general-purpose register as the first operand. */
const GPR_TOKEN = /^(?:(?:r|rm)(?:8|16|32|64)|r\d+m\d+|AL|AX|EAX|RAX|CL|DX|rDI)$/;
const ENCODING_TOKENS = new Set(['VEX', 'EVEX', 'XOP', 'MVEX', 'D3NOW', 'KNC']);

/**
 * Whether an instruction's first operand can be a general-purpose register, from its iced Code name
 * (`Add_rm64_r64`, `Add_EAX_imm32`, `VEX_Vpextrb_r64m8_xmm_imm8`): the name lists the operand forms. Read
 * from the JS enum, which avoids iced's opcode tables (their first use costs over 100 ms).
 */
export function firstOperandMayBeGpr(code: number): boolean {
  const name = (iced.Code as unknown as Record<number, string>)[code];
  if (!name) return true;
  const parts = name.split('_');
  let i = 0;
  while (i < parts.length && ENCODING_TOKENS.has(parts[i])) i++;
  const op0 = parts[i + 1];
  return op0 !== undefined && GPR_TOKEN.test(op0);
}
