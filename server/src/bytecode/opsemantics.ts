// How each CPython opcode (by name, 3.8-3.13) moves values on the simulated stack: modelled individually,
// pushing N results, popping a fixed count, or exact under the default rule (pop -effect / push +effect).

// The stack effect itself always comes from the interpreter (dis.stack_effect), so depths never drift; the
// default rule is only used for opcodes that never replace an operand by a result.

/** Opcodes with their own case in the simulation. */
export const MODELED = new Set([
  'LOAD_CONST', 'RETURN_CONST', 'LOAD_NAME', 'LOAD_GLOBAL', 'LOAD_FAST', 'LOAD_FAST_CHECK', 'LOAD_FAST_AND_CLEAR',
  'LOAD_FAST_LOAD_FAST', 'LOAD_DEREF', 'LOAD_CLASSDEREF', 'LOAD_CLOSURE', 'LOAD_FROM_DICT_OR_DEREF',
  'LOAD_FROM_DICT_OR_GLOBALS', 'LOAD_LOCALS', 'LOAD_ATTR', 'LOAD_METHOD', 'LOAD_SUPER_ATTR', 'LOAD_BUILD_CLASS',
  'LOAD_ASSERTION_ERROR', 'IMPORT_NAME', 'IMPORT_FROM', 'IMPORT_STAR', 'STORE_NAME', 'STORE_GLOBAL', 'STORE_FAST',
  'STORE_FAST_MAYBE_NULL', 'STORE_FAST_STORE_FAST', 'STORE_FAST_LOAD_FAST', 'STORE_DEREF', 'STORE_ATTR',
  'DELETE_NAME', 'DELETE_FAST', 'DELETE_DEREF', 'DELETE_GLOBAL', 'POP_TOP', 'ROT_TWO', 'ROT_THREE', 'ROT_FOUR',
  'ROT_N', 'DUP_TOP', 'DUP_TOP_TWO', 'COPY', 'SWAP', 'PUSH_NULL', 'KW_NAMES', 'PRECALL', 'CALL_FUNCTION',
  'CALL_FUNCTION_KW', 'CALL_FUNCTION_EX', 'CALL_METHOD', 'CALL', 'CALL_KW', 'MAKE_FUNCTION',
  'SET_FUNCTION_ATTRIBUTE', 'BINARY_OP', 'BINARY_SUBSCR', 'COMPARE_OP', 'UNARY_NOT', 'TO_BOOL', 'BUILD_TUPLE',
  'BUILD_LIST', 'LIST_EXTEND', 'LIST_TO_TUPLE', 'CALL_INTRINSIC_1', 'RETURN_VALUE', 'SETUP_FINALLY', 'SETUP_WITH',
  'SETUP_ASYNC_WITH', 'POP_BLOCK', 'POP_EXCEPT', 'RETURN_GENERATOR', 'GEN_START',
  // Python 3.8-3.10 binary and in-place operators (3.11+ use BINARY_OP).
  ...Object.keys(legacyOperators()),
]);

/** BINARY_* / INPLACE_* opcodes of 3.8-3.10 → the operator symbol BINARY_OP shows in 3.11+. */
export function legacyOperators(): Record<string, string> {
  return {
    BINARY_ADD: '+', BINARY_AND: '&', BINARY_FLOOR_DIVIDE: '//', BINARY_LSHIFT: '<<', BINARY_MATRIX_MULTIPLY: '@',
    BINARY_MULTIPLY: '*', BINARY_MODULO: '%', BINARY_OR: '|', BINARY_POWER: '**', BINARY_RSHIFT: '>>',
    BINARY_SUBTRACT: '-', BINARY_TRUE_DIVIDE: '/', BINARY_XOR: '^',
    INPLACE_ADD: '+=', INPLACE_AND: '&=', INPLACE_FLOOR_DIVIDE: '//=', INPLACE_LSHIFT: '<<=',
    INPLACE_MATRIX_MULTIPLY: '@=', INPLACE_MULTIPLY: '*=', INPLACE_MODULO: '%=', INPLACE_OR: '|=',
    INPLACE_POWER: '**=', INPLACE_RSHIFT: '>>=', INPLACE_SUBTRACT: '-=', INPLACE_TRUE_DIVIDE: '/=', INPLACE_XOR: '^=',
  };
}

/** Opcodes that replace operands by results: how many results they push (pops = results - effect). */
export const PUSHES: Record<string, number> = {
  BINARY_SLICE: 1, CONTAINS_OP: 1, IS_OP: 1, UNARY_NEGATIVE: 1, UNARY_POSITIVE: 1, UNARY_INVERT: 1,
  FORMAT_VALUE: 1, FORMAT_SIMPLE: 1, FORMAT_WITH_SPEC: 1, CONVERT_VALUE: 1, BUILD_SET: 1, BUILD_MAP: 1,
  BUILD_CONST_KEY_MAP: 1, BUILD_STRING: 1, BUILD_SLICE: 1, BUILD_LIST_UNPACK: 1, BUILD_TUPLE_UNPACK: 1,
  BUILD_TUPLE_UNPACK_WITH_CALL: 1, BUILD_SET_UNPACK: 1, BUILD_MAP_UNPACK: 1, BUILD_MAP_UNPACK_WITH_CALL: 1,
  GET_ITER: 1, GET_AITER: 1, GET_ANEXT: 1, GET_AWAITABLE: 1, GET_YIELD_FROM_ITER: 1, GET_LEN: 1, MATCH_CLASS: 1,
  MATCH_MAPPING: 1, MATCH_SEQUENCE: 1, COPY_DICT_WITHOUT_KEYS: 1, CHECK_EXC_MATCH: 1, CALL_INTRINSIC_2: 1,
  YIELD_VALUE: 1, SEND: 1, END_SEND: 1, WITH_EXCEPT_START: 1, FOR_ITER: 1, ASYNC_GEN_WRAP: 1,
  PREP_RERAISE_STAR: 1, CHECK_EG_MATCH: 2, BEFORE_WITH: 2, BEFORE_ASYNC_WITH: 2, PUSH_EXC_INFO: 2,
  CLEANUP_THROW: 2, WITH_CLEANUP_START: 2,
};

/** Opcodes that pop a fixed number of operands and push (pops + effect) results. */
export const POPS: Record<string, number> = {
  UNPACK_SEQUENCE: 1, UNPACK_EX: 1, MATCH_KEYS: 0, YIELD_FROM: 1,
};

/**
 * Opcodes for which the default rule is exact: they only pop (stores, jumps' fall-through, cleanups), only
 * push fresh values, or do nothing to the stack.
 */
export const DEFAULT_OK = new Set([
  'NOP', 'RESUME', 'CACHE', 'EXTENDED_ARG', 'MAKE_CELL', 'COPY_FREE_VARS', 'SETUP_ANNOTATIONS', 'RESERVED',
  'POP_JUMP_IF_FALSE', 'POP_JUMP_IF_TRUE', 'POP_JUMP_IF_NONE', 'POP_JUMP_IF_NOT_NONE',
  'POP_JUMP_FORWARD_IF_FALSE', 'POP_JUMP_FORWARD_IF_TRUE', 'POP_JUMP_FORWARD_IF_NONE', 'POP_JUMP_FORWARD_IF_NOT_NONE',
  'POP_JUMP_BACKWARD_IF_FALSE', 'POP_JUMP_BACKWARD_IF_TRUE', 'POP_JUMP_BACKWARD_IF_NONE', 'POP_JUMP_BACKWARD_IF_NOT_NONE',
  'JUMP_IF_FALSE_OR_POP', 'JUMP_IF_TRUE_OR_POP', 'JUMP_IF_NOT_EXC_MATCH', 'JUMP_FORWARD', 'JUMP_ABSOLUTE',
  'JUMP_BACKWARD', 'JUMP_BACKWARD_NO_INTERRUPT', 'JUMP', 'JUMP_NO_INTERRUPT', 'STORE_SUBSCR', 'STORE_SLICE',
  'DELETE_ATTR', 'DELETE_SUBSCR', 'LIST_APPEND', 'SET_ADD', 'MAP_ADD', 'SET_UPDATE', 'DICT_UPDATE', 'DICT_MERGE',
  'PRINT_EXPR', 'RAISE_VARARGS', 'RERAISE', 'END_FOR', 'END_ASYNC_FOR', 'BEGIN_FINALLY', 'END_FINALLY',
  'POP_FINALLY', 'CALL_FINALLY', 'WITH_CLEANUP_FINISH', 'EXIT_INIT_CHECK', 'INTERPRETER_EXIT', 'ENTER_EXECUTOR',
]);

/** Opcodes after which execution never falls through to the next instruction. */
export const TERMINAL = new Set([
  'RETURN_VALUE', 'RETURN_CONST', 'RAISE_VARARGS', 'RERAISE', 'JUMP_FORWARD', 'JUMP_ABSOLUTE', 'JUMP_BACKWARD',
  'JUMP_BACKWARD_NO_INTERRUPT', 'JUMP', 'JUMP_NO_INTERRUPT', 'INTERPRETER_EXIT',
]);

/** Whether an opname is classified (the tests require every opname of every supported version to be). */
export function isClassified(opname: string): boolean {
  if (opname.startsWith('INSTRUMENTED_')) return true; // never in co_code (the code is read deoptimised)
  return MODELED.has(opname) || opname in PUSHES || opname in POPS || DEFAULT_OK.has(opname);
}
