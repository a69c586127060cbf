// Lists the processes a user may want to analyse (for the "Analyze Running Process" quick pick): pid,
// command line, executable, Python version when it is an interpreter, whether LD_BIND_NOW is set, and
// whether it belongs to the current user. Reads /proc only; processes that vanish meanwhile are skipped.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { procPath, readCmdline, readEnviron, readExe, readProcText } from './procfs';

export interface ListedProcess {
  pid: number;
  command: string;
  exe: string;
  python?: string;
  ldBindNow: boolean | null;
  sameUser: boolean;
}

const PYTHON_EXE = /^python(\d+(?:\.\d+)?)?(?:[dmu]*)?$/;

/** The Python version a process runs, from its executable name or a mapped libpython; undefined if none. */
export function pythonVersionOf(pid: number, exe: string): string | undefined {
  const base = path.basename(exe);
  const m = PYTHON_EXE.exec(base);
  if (m && m[1]?.includes('.')) return m[1];
  let maps = '';
  try {
    maps = readProcText(pid, 'maps');
  } catch {
    maps = '';
  }
  const lib = /libpython(\d+\.\d+)/.exec(maps);
  if (lib) return lib[1];
  if (m) {
    // `python3` linked statically (Debian): the version is in the resolved executable's name.
    try {
      const real = path.basename(fs.realpathSync(procPath(pid, 'exe')));
      const v = /^python(\d+\.\d+)/.exec(real);
      if (v) return v[1];
    } catch {
      // fall through
    }
    return m[1] ?? '3';
  }
  return undefined;
}

/** The processes on this machine (optionally only Python interpreters), newest first. */
export function listProcesses(options: { pythonOnly?: boolean; includeSelf?: boolean } = {}): ListedProcess[] {
  const pythonOnly = options.pythonOnly ?? true;
  const uid = process.getuid?.();
  const out: ListedProcess[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (!options.includeSelf && pid === process.pid) continue;
    try {
      let exe = '';
      try {
        exe = readExe(pid).replace(/ \(deleted\)$/, '');
      } catch {
        // Other users' processes hide exe; kernel threads have none.
        exe = '';
      }
      const cmdline = readCmdline(pid).filter(Boolean);
      if (cmdline.length === 0) continue; // kernel thread or zombie
      const python = exe ? pythonVersionOf(pid, exe) : PYTHON_EXE.test(path.basename(cmdline[0])) ? '3' : undefined;
      if (pythonOnly && !python) continue;
      let ldBindNow: boolean | null = null;
      try {
        ldBindNow = readEnviron(pid).some((e) => e.name === 'LD_BIND_NOW' && e.value !== '');
      } catch {
        ldBindNow = null;
      }
      const st = fs.statSync(procPath(pid));
      out.push({ pid, command: cmdline.join(' '), exe: exe || cmdline[0], python, ldBindNow, sameUser: uid === undefined || st.uid === uid });
    } catch {
      // The process exited while we looked.
      continue;
    }
  }
  return out.sort((a, b) => b.pid - a.pid);
}
