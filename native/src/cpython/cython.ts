// Cython's C names for Python-visible functions: `__pyx_pw_<len><part>_..._<n><name>` is the wrapper a
// PyMethodDef points at, `__pyx_pf_...` the implementation it calls (Cython 0.29 and 3.x mangle the same way).

/** Splits a Python qualname (`Kern.fma`, `outer.<locals>.inner`) into its class/function path and its name. */
export function qualnameParts(qualname: string): { scopes: string[]; name: string } | undefined {
  const parts = qualname.split('.').filter((p) => p !== '<locals>' && p.length > 0);
  const name = parts.pop();
  if (!name || ![...parts, name].every((p) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) return undefined;
  return { scopes: parts, name };
}

/** Cython's mangled scope prefix: each dotted part as `<length><part>`, joined by `_` (`5cypkg_4kern_4Kern`). */
export function cythonPrefix(module: string, scopes: readonly string[]): string {
  return [...module.split('.'), ...scopes].map((p) => `${p.length}${p}`).join('_');
}

/**
 * A pattern matching the symbol of a function's wrapper (`kind` 'pw') or implementation ('pf'):
 * `__pyx_pw_5cypkg_4kern_4Kern_1fma` for module `cypkg.kern`, qualname `Kern.fma`. The counter before the
 * name is optional (Cython omits it for some implementation functions). Undefined for an invalid qualname.
 */
export function cythonSymbolPattern(module: string, qualname: string, kind: 'pw' | 'pf' = 'pw'): RegExp | undefined {
  const q = qualnameParts(qualname);
  if (!q || !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(module)) return undefined;
  return new RegExp(`^__pyx_${kind}_${cythonPrefix(module, q.scopes)}_(\\d+)?${q.name}$`);
}

/** True when a symbol name is one of Cython's Python-visible wrappers or implementations. */
export function isCythonFunctionSymbol(name: string): boolean {
  return name.startsWith('__pyx_pw_') || name.startsWith('__pyx_pf_');
}
