#!/usr/bin/env python3
# Pygration's bytecode dump helper: finds modules through importlib's finders WITHOUT importing them (only the
# introspect request imports standard-library modules), loads their code and prints code objects as JSON lines.
"""
Run by the interpreter whose code is analysed (a path, a pyenv python, /proc/PID/exe of a live process).

Usage:
    pygration_dump.py [--serve] [--sys-path-json JSON | --target-site-json JSON] [--prepend-path DIR]...
                      [--format compact|full] [--module NAME]... [--file PATH]...

--target-site-json describes a live process (its interpreter flags, PYTHONPATH, PYTHONHOME, HOME, working
directory): the helper, run with -I -S by that process's own interpreter, then computes the sys.path the
process started with, without running its start-up code (see target_sys_path).

Output is JSON lines on stdout. The first line is a `hello` record (interpreter facts and the decode model:
opcode names, argument kinds, inline cache sizes and `dis.stack_effect` tables of THIS interpreter). Then one
`module` record per requested module and a `done` record per request. With --serve, requests are read as JSON
lines on stdin: {"id": 1, "op": "dump", "modules": [...], "files": [...], "known": {name: [path, size, mtimeNs]}},
{"id": 2, "op": "prependPath", "paths": [...]}, {"id": 3, "op": "introspect", "modules": [[name, file, [names]]]}
(stdlib modules only: pygration_introspect.py), {"op": "exit"}. See docs/bytecode.md for the schema.

Two code formats:
  compact (default, fast): per code object the raw co_code and (3.11+) co_linetable in base64, the tables
      (consts, names, local names), line ranges (3.8-3.10), the exception table and the stack effects of
      instructions whose argument is >= 256. The TypeScript side decodes it with the hello record's model.
  full (reference, slow): per instruction [offset, opname, arg, argval, line, col, endLine, endCol, effect,
      jumpEffect] from dis.get_instructions; the tests check the compact decoder against it.
"""

import json
import os
import sys
import warnings

from pygration_dumper import Dumper, max_rss_kb
from pygration_site import target_sys_path


def main(argv):
    warnings.simplefilter('ignore')  # compile() warnings (invalid escapes, ...) must not reach stdout/stderr
    # Running a script puts its directory first on sys.path; the analysed program would not see it.
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or os.curdir) == here:
        del sys.path[0]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    args = list(argv)
    serve = False
    fmt = 'compact'
    modules = []
    files = []
    while args:
        a = args.pop(0)
        if a == '--serve':
            serve = True
        elif a == '--sys-path-json':
            sys.path[:] = json.loads(args.pop(0))
        elif a == '--target-site-json':
            sys.path[:] = target_sys_path(json.loads(args.pop(0)))
        elif a == '--prepend-path':
            sys.path.insert(0, args.pop(0))
        elif a == '--format':
            fmt = args.pop(0)
        elif a == '--module':
            modules.append(args.pop(0))
        elif a == '--file':
            files.append(args.pop(0))
        elif a in ('-h', '--help'):
            sys.stdout.write(__doc__)
            return 0
        else:
            sys.stderr.write('pygration_dump: unknown argument %r\n' % a)
            return 2
    out = sys.stdout
    dumper = Dumper(out, fmt)
    dumper.hello()
    if modules or files:
        dumper.handle({'id': 0, 'op': 'dump', 'modules': modules, 'files': files})
    if not serve:
        return 0
    while True:
        line = sys.stdin.readline()
        if not line:
            return 0
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError('request is not an object')
        except ValueError as e:
            dumper.emit({'type': 'error', 'id': None, 'message': 'bad request: %s' % e})
            out.flush()
            continue
        if request.get('op') == 'exit':
            return 0
        try:
            dumper.handle(request)
        except Exception as e:
            dumper.emit({'type': 'error', 'id': request.get('id'), 'message': '%s: %s' % (type(e).__name__, e)})
            dumper.emit({'type': 'done', 'id': request.get('id'), 'seconds': 0, 'maxRssKB': max_rss_kb()})
            out.flush()


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
