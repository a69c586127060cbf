// Opcode tables of the simulation: each opcode name mapped to a handler id (a numeric switch is much faster
// than a string one in the hot loop), its fixed stack effect, operator, and argument kind, per interpreter.

import type { Decoder } from '../decode';
import { isClassified, legacyOperators, POPS, PUSHES, TERMINAL } from '../opsemantics';
import { unknown, type Expr } from '../values';

// Handler ids (a numeric switch is much faster than a string one in the hot loop).
export const enum H {
  Default, Pushes, Pops, LoadConst, ReturnConst, LoadName, LoadGlobal, LoadFast, LoadFastAndClear, LoadFastLoadFast,
  LoadDeref, LoadClassDeref, LoadClosure, LoadFromDictOrDeref, LoadFromDictOrGlobals, LoadLocals, LoadAttr, LoadMethod,
  LoadSuperAttr, LoadBuildClass, LoadAssertionError, ImportName, ImportFrom, ImportStar, StoreName, StoreGlobal,
  StoreFast, StoreFastStoreFast, StoreFastLoadFast, StoreDeref, StoreAttr, DeleteName, DeleteFast, DeleteDeref,
  DeleteGlobal, PopTop, RotTwo, RotThree, RotFour, RotN, DupTop, DupTopTwo, Copy, Swap, PushNull, KwNames, Precall,
  CallFunction, CallFunctionKw, CallFunctionEx, CallMethod, Call, CallKw, MakeFunction, SetFunctionAttribute,
  BinaryOp, LegacyBinary, BinarySubscr, CompareOp, UnaryNot, ToBool, BuildSeq, ListExtend, ListToTuple,
  CallIntrinsic1, ReturnValue, Setup, PopBlock, PopExcept, ReturnGenerator, GenStart,
}

const HANDLERS: Record<string, H> = {
  LOAD_CONST: H.LoadConst, RETURN_CONST: H.ReturnConst, LOAD_NAME: H.LoadName, LOAD_GLOBAL: H.LoadGlobal,
  LOAD_FAST: H.LoadFast, LOAD_FAST_CHECK: H.LoadFast, LOAD_FAST_AND_CLEAR: H.LoadFastAndClear,
  LOAD_FAST_LOAD_FAST: H.LoadFastLoadFast, LOAD_DEREF: H.LoadDeref, LOAD_CLASSDEREF: H.LoadClassDeref,
  LOAD_CLOSURE: H.LoadClosure, LOAD_FROM_DICT_OR_DEREF: H.LoadFromDictOrDeref,
  LOAD_FROM_DICT_OR_GLOBALS: H.LoadFromDictOrGlobals, LOAD_LOCALS: H.LoadLocals, LOAD_ATTR: H.LoadAttr,
  LOAD_METHOD: H.LoadMethod, LOAD_SUPER_ATTR: H.LoadSuperAttr, LOAD_BUILD_CLASS: H.LoadBuildClass,
  LOAD_ASSERTION_ERROR: H.LoadAssertionError, IMPORT_NAME: H.ImportName, IMPORT_FROM: H.ImportFrom,
  IMPORT_STAR: H.ImportStar, STORE_NAME: H.StoreName, STORE_GLOBAL: H.StoreGlobal, STORE_FAST: H.StoreFast,
  STORE_FAST_MAYBE_NULL: H.StoreFast, STORE_FAST_STORE_FAST: H.StoreFastStoreFast,
  STORE_FAST_LOAD_FAST: H.StoreFastLoadFast, STORE_DEREF: H.StoreDeref, STORE_ATTR: H.StoreAttr,
  DELETE_NAME: H.DeleteName, DELETE_FAST: H.DeleteFast, DELETE_DEREF: H.DeleteDeref, DELETE_GLOBAL: H.DeleteGlobal,
  POP_TOP: H.PopTop, ROT_TWO: H.RotTwo, ROT_THREE: H.RotThree, ROT_FOUR: H.RotFour, ROT_N: H.RotN,
  DUP_TOP: H.DupTop, DUP_TOP_TWO: H.DupTopTwo, COPY: H.Copy, SWAP: H.Swap, PUSH_NULL: H.PushNull,
  KW_NAMES: H.KwNames, PRECALL: H.Precall, CALL_FUNCTION: H.CallFunction, CALL_FUNCTION_KW: H.CallFunctionKw,
  CALL_FUNCTION_EX: H.CallFunctionEx, CALL_METHOD: H.CallMethod, CALL: H.Call, CALL_KW: H.CallKw,
  MAKE_FUNCTION: H.MakeFunction, SET_FUNCTION_ATTRIBUTE: H.SetFunctionAttribute, BINARY_OP: H.BinaryOp,
  BINARY_SUBSCR: H.BinarySubscr, COMPARE_OP: H.CompareOp, UNARY_NOT: H.UnaryNot, TO_BOOL: H.ToBool,
  BUILD_TUPLE: H.BuildSeq, BUILD_LIST: H.BuildSeq, LIST_EXTEND: H.ListExtend, LIST_TO_TUPLE: H.ListToTuple,
  CALL_INTRINSIC_1: H.CallIntrinsic1, RETURN_VALUE: H.ReturnValue, SETUP_FINALLY: H.Setup, SETUP_WITH: H.Setup,
  BEFORE_WITH: H.Setup,
  SETUP_ASYNC_WITH: H.Setup, POP_BLOCK: H.PopBlock, POP_EXCEPT: H.PopExcept, RETURN_GENERATOR: H.ReturnGenerator,
  GEN_START: H.GenStart,
};

/** Per-interpreter opcode tables for the simulation (cached on the decoder). */
export interface OpTables {
  handler: Uint8Array;
  fixed: Int16Array; // PUSHES count or POPS count
  operator: (string | null)[];
  terminal: Uint8Array;
  isJump: Uint8Array;
  setup: Uint8Array;
  /** 1: name, 2: name1 (LOAD_GLOBAL/LOAD_ATTR with a flag bit), 0: other. */
  argKind: Uint8Array;
  /** The unknown value an opcode's results stand for ("get_iter", "build_map", ...). */
  result: (Expr | null)[];
  names: (string | null)[];
  classified: Uint8Array;
}

const tablesCache = new WeakMap<Decoder, OpTables>();

export function opTables(decoder: Decoder): OpTables {
  let t = tablesCache.get(decoder);
  if (t) return t;
  const names = decoder.model.opnames;
  const legacy = legacyOperators();
  t = {
    handler: new Uint8Array(256),
    fixed: new Int16Array(256),
    operator: new Array<string | null>(256).fill(null),
    terminal: new Uint8Array(256),
    isJump: new Uint8Array(256),
    setup: new Uint8Array(256),
    argKind: new Uint8Array(256),
    result: new Array<Expr | null>(256).fill(null),
    names,
    classified: new Uint8Array(256),
  };
  for (let op = 0; op < 256; op++) {
    const name = names[op];
    if (!name) continue;
    if (name in HANDLERS) t.handler[op] = HANDLERS[name];
    else if (name in legacy) {
      t.handler[op] = H.LegacyBinary;
      t.operator[op] = legacy[name];
    } else if (name in PUSHES) {
      t.handler[op] = H.Pushes;
      t.fixed[op] = PUSHES[name];
    } else if (name in POPS) {
      t.handler[op] = H.Pops;
      t.fixed[op] = POPS[name];
    }
    t.terminal[op] = TERMINAL.has(name) ? 1 : 0;
    t.argKind[op] = decoder.model.argKinds[op] === 'name1' ? 2 : decoder.model.argKinds[op] === 'name' ? 1 : 0;
    t.result[op] = unknown(`result of ${name}`);
    t.isJump[op] = decoder.isJump(op) ? 1 : 0;
    t.setup[op] = name === 'SETUP_FINALLY' || name === 'SETUP_WITH' || name === 'SETUP_ASYNC_WITH' ? 1 : 0;
    t.classified[op] = isClassified(name) ? 1 : 0;
  }
  tablesCache.set(decoder, t);
  return t;
}
