# Pygration's bytecode dump helper, a live process's sys.path: computed from its interpreter flags, environment
# and site directories without running its start-up code (.pth import lines, sitecustomize).

import os
import sys

# Set by --target-site-json: what the computed sys.path leaves out (.pth files whose import lines were not run).
SITE_NOTES = []


def target_sys_path(spec):
    """The sys.path a live process started with, computed without running any of its start-up code.

    The helper runs under -I -S, so sys.path is the interpreter's own [zip, stdlib, lib-dynload]. Added here
    as CPython and site.main() would: PYTHONPATH (unless the process ran with -E/-I), PYTHONHOME applied to
    the stdlib entries, the virtual environment (pyvenv.cfg next to the executable the process was started
    as, which is our argv[0]), the user site (unless -s/-I/PYTHONNOUSERSITE) and the site-packages
    directories with the path lines of their .pth files. Never run: .pth `import` lines, sitecustomize,
    usercustomize; a path those add is missing (the skipped .pth files are listed in SITE_NOTES).
    """
    import site
    flags = spec.get('flags') or {}
    env = spec.get('env') or {}
    cwd = spec.get('cwd') or '/'
    ignore_env = bool(flags.get('E') or flags.get('I'))

    def absolute(p):
        return os.path.normpath(os.path.join(cwd, p))

    base = list(sys.path)
    home = None if ignore_env else env.get('PYTHONHOME')
    if home:
        prefix, _, exec_prefix = home.partition(':')
        exec_prefix = exec_prefix or prefix
        moved = []
        for entry in base:
            if entry.startswith(sys.base_exec_prefix + os.sep) and 'lib-dynload' in entry:
                moved.append(exec_prefix + entry[len(sys.base_exec_prefix):])
            elif entry.startswith(sys.base_prefix + os.sep):
                moved.append(prefix + entry[len(sys.base_prefix):])
            else:
                moved.append(entry)
        base = moved
        sys.prefix = sys.base_prefix = prefix
        sys.exec_prefix = sys.base_exec_prefix = exec_prefix
        site.PREFIXES[:] = [prefix, exec_prefix]
    pythonpath = [] if ignore_env else [absolute(p) for p in (env.get('PYTHONPATH') or '').split(os.pathsep) if p]
    path = []
    for p in pythonpath + base:
        if p not in path:
            path.append(p)
    sys.path[:] = path
    if flags.get('S'):
        return path
    if not ignore_env and env.get('PYTHONPLATLIBDIR') and hasattr(sys, 'platlibdir'):
        sys.platlibdir = env['PYTHONPLATLIBDIR']
    known = set(os.path.normcase(p) for p in path)
    user_site = not (flags.get('s') or flags.get('I')) and not (not ignore_env and env.get('PYTHONNOUSERSITE'))
    prefixes = list(site.PREFIXES)
    dirs = []
    # site.venv() would run the venv's .pth files (it calls addsitepackages): its effect, computed here.
    venv = _venv_prefix()
    if venv:
        prefix, system_site = venv
        sys.prefix = sys.exec_prefix = prefix
        dirs.extend(site.getsitepackages([prefix]))
        if system_site:
            prefixes.insert(0, prefix)
        else:
            prefixes = [prefix]
            user_site = False
    for key in ('HOME', 'PYTHONUSERBASE'):
        if env.get(key):
            os.environ[key] = env[key]
        else:
            os.environ.pop(key, None)
    site.USER_BASE = None
    site.USER_SITE = None
    if user_site:
        dirs.append(site.getusersitepackages())
    dirs.extend(site.getsitepackages(prefixes))
    done = set()
    for d in dirs:
        # site reads a venv's .pth files twice (venv(), then addsitepackages): their path lines once is the same.
        if os.path.isdir(d) and os.path.normcase(d) not in done:
            done.add(os.path.normcase(d))
            _add_site_dir(d, known)
    return list(sys.path)


def _venv_prefix():
    """(prefix, include-system-site-packages) of the virtual environment of sys.executable, as site.venv finds it."""
    exe_dir = os.path.dirname(os.path.abspath(sys.executable or ''))
    prefix = os.path.dirname(exe_dir)
    for conf in (os.path.join(exe_dir, 'pyvenv.cfg'), os.path.join(prefix, 'pyvenv.cfg')):
        if not os.path.isfile(conf):
            continue
        system_site = False
        try:
            with open(conf, encoding='utf-8') as f:
                for line in f:
                    key, eq, value = line.partition('=')
                    if eq and key.strip().lower() == 'include-system-site-packages':
                        system_site = value.strip().lower() == 'true'
        except (OSError, UnicodeDecodeError):
            pass
        return prefix, system_site
    return None


def _add_site_dir(sitedir, known):
    """site.addsitedir without executing anything: the directory, then the path lines of its .pth files."""
    case = os.path.normcase(sitedir)
    if case not in known:
        sys.path.append(sitedir)
        known.add(case)
    try:
        names = sorted(n for n in os.listdir(sitedir) if n.endswith('.pth') and not n.startswith('.'))
    except OSError:
        return
    for name in names:
        try:
            with open(os.path.join(sitedir, name), 'rb') as f:
                raw = f.read()
        except OSError:
            continue
        try:
            text = raw.decode('utf-8-sig')
        except UnicodeDecodeError:
            text = raw.decode('latin-1')
        skipped = False
        for line in text.splitlines():
            if line.startswith('#') or not line.strip():
                continue
            if line.startswith(('import ', 'import\t')):
                skipped = True
                continue
            entry = os.path.abspath(os.path.join(sitedir, line.rstrip()))
            if os.path.normcase(entry) not in known and os.path.exists(entry):
                sys.path.append(entry)
                known.add(os.path.normcase(entry))
        if skipped:
            SITE_NOTES.append(os.path.join(sitedir, name))
