# Pygration's bytecode dump helper, the requests: hello, dump (modules and files, split records for lazy
# simulation), prependPath and introspect (the stdlib's real exports), each answered with JSON lines on stdout.

import importlib
import json
import os
import sys
import time

from pygration_finder import Finder, load_code, module_name_for_file
from pygration_introspect import Introspector
from pygration_model import EXT_SUFFIXES, PROTOCOL, decode_model, interpreter_info
from pygration_serialize import CodeSerializer

class Dumper:
    def __init__(self, out, fmt='compact'):
        self.out = out
        self.finder = Finder()
        self.model = decode_model()
        self.fmt = fmt
        self.introspector = None

    def emit(self, obj):
        self.out.write(json.dumps(obj, separators=(',', ':'), ensure_ascii=True))
        self.out.write('\n')

    def hello(self):
        self.emit({'type': 'hello', 'protocol': PROTOCOL, 'python': interpreter_info(), 'model': self.model})
        self.out.flush()

    def handle(self, request):
        op = request.get('op', 'dump')
        rid = request.get('id')
        started = time.time()
        if op == 'dump':
            self.dump(request, rid)
        elif op == 'prependPath':
            paths = [p for p in request.get('paths', []) if isinstance(p, str)]
            for p in reversed(paths):
                if p in sys.path:
                    sys.path.remove(p)
                sys.path.insert(0, p)
            self.finder.cache.clear()
            importlib.invalidate_caches()
        elif op == 'invalidate':
            self.finder.cache.clear()
            importlib.invalidate_caches()
        elif op == 'introspect':
            if self.introspector is None:
                self.introspector = Introspector()
            self.emit({'type': 'introspect', 'id': rid, 'modules': self.introspector.handle(request)})
        elif op == 'info':
            self.emit({'type': 'info', 'id': rid, 'python': interpreter_info()})
        else:
            self.emit({'type': 'error', 'id': rid, 'message': 'unknown op %r' % (op,)})
        self.emit({'type': 'done', 'id': rid, 'seconds': round(time.time() - started, 6),
                   'maxRssKB': max_rss_kb(), 'cpuSeconds': _cpu_seconds()})
        self.out.flush()

    def dump(self, request, rid):
        fmt = request.get('format') or self.fmt
        serializer = CodeSerializer(self.model, fmt, bool(request.get('split')))
        known = request.get('known') or {}
        want_code = request.get('code', True)
        if request.get('invalidate'):
            self.finder.cache.clear()
            importlib.invalidate_caches()
        for path in request.get('files') or []:
            name, root = module_name_for_file(path)
            info = {'name': name, 'kind': 'python', 'file': os.path.abspath(path), 'root': root,
                    'isPackage': os.path.basename(path).startswith('__init__.'), 'requested': path}
            if info['isPackage']:
                info['searchLocations'] = [os.path.dirname(info['file'])]
            if os.path.abspath(path).endswith(EXT_SUFFIXES):
                info['kind'] = 'native'
            self.one(rid, info, serializer, known, want_code)
        for name in request.get('modules') or []:
            if not isinstance(name, str) or not name:
                continue
            info = dict(self.finder.find(name))
            self.one(rid, info, serializer, known, want_code)

    def one(self, rid, info, serializer, known, want_code):
        loader = info.pop('_loader', None)
        record = {'type': 'module', 'id': rid}
        record.update(info)
        path = info.get('file')
        lazy = None
        try:
            if path is not None:
                try:
                    st = os.stat(path)
                except OSError as e:
                    record['kind'] = 'missing'
                    record['reason'] = 'cannot stat %s: %s' % (path, e.strerror)
                    self.emit(record)
                    return
                record['size'] = st.st_size
                record['mtimeNs'] = str(st.st_mtime_ns)  # beyond 2**53: a string keeps it exact in JSON
                record['ino'] = st.st_ino
                previous = known.get(info['name'])
                if (previous is not None and previous[0] == path and previous[1] == st.st_size
                        and str(previous[2]) == record['mtimeNs']):
                    record['unchanged'] = True
                elif info['kind'] == 'python' and want_code:
                    t0 = time.time()
                    code, how, error = load_code(path, st, loader, info['name'], info.get('sourceless', False))
                    record['load'] = how
                    if error is not None:
                        record['syntaxError'] = error
                    elif code is not None:
                        record['codes'] = serializer.serialize_module(code)
                        record['format'] = serializer.fmt
                        if serializer.all_mutated:
                            record['allMutated'] = True
                        if serializer.lazy:
                            lazy = serializer.lazy
                            record['lazy'] = len(lazy)
                            record['lazyGlobals'] = sorted(serializer.lazy_globals)
                    record['seconds'] = round(time.time() - t0, 6)
            self.emit(record)
            if lazy is not None:
                # The function bodies, on the next line after a '#': JSON the reader parses only when needed.
                self.out.write('#')
                self.emit(lazy)
        except Exception as e:  # never let one module end the batch
            self.emit({'type': 'module', 'id': rid, 'name': info.get('name'), 'kind': 'error',
                       'file': path, 'reason': '%s: %s' % (type(e).__name__, e)})
        self.out.flush()


def _cpu_seconds():
    """CPU time (user + system) this process has used so far."""
    try:
        t = os.times()
        return round(t.user + t.system, 3)
    except Exception:
        return None


def max_rss_kb():
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except Exception:
        return None
