// The loaded code through which a Python program can call an exported function by a name built at run time (a dlsym
// bridge): ctypes, cffi, or an extension module that calls dlsym itself. With one loaded, pythonRoots.ts roots the
// exports dlsym can reach (addExports).

import type { ModuleImage } from '../space/space';

/** The lookups by name a module can make: dlsym and its versioned sibling. */
const LOOKUPS = new Set(['dlsym', 'dlvsym']);

/**
 * A bridge: its name for the report, and whether what goes through it is named by Python code (ctypes, cffi: the
 * precise policy's gate sees those names), or may be a name C code builds (an extension calling dlsym).
 */
export interface DlsymBridge {
  name: string;
  byName: boolean;
}

/**
 * The first bridge among `modules` (the Python-callable ones): `_ctypes` (`CDLL(path).name`, `getattr(CDLL(None),
 * computed)`, `ctypes.pythonapi`) or `_cffi_backend` (`ffi.dlopen(path).name`), by its PyInit_; else an extension
 * module that imports dlsym or dlvsym, which may look up a name Python hands it or one it builds (an extension that
 * runs `dlsym(handle, name)` on a library it opened and calls the result ran a GFNI kernel no report named). The
 * interpreter is not one: its dlsym looks up the PyInit_ function of a module being imported. Undefined when none is.
 */
export function dlsymBridge(modules: readonly ModuleImage[], isInterpreter: (m: ModuleImage) => boolean): DlsymBridge | undefined {
  for (const m of modules) {
    for (const init of ['PyInit__ctypes', 'PyInit__cffi_backend']) {
      const s = m.elf.lookupSymbol(init);
      if (s?.defined) return { name: init.slice('PyInit_'.length), byName: true };
    }
  }
  for (const m of modules) {
    if (isInterpreter(m)) continue;
    const lookup = m.elf.dynamicSymbols().find((s) => !s.defined && LOOKUPS.has(s.name));
    if (lookup) return { name: `${m.path.split('/').pop()} (it calls ${lookup.name})`, byName: false };
  }
  return undefined;
}
