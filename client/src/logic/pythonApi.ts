// Reads the interpreter the ms-python extension selected, through whichever of its API shapes it exports:
// `environments` (getActiveEnvironmentPath / resolveEnvironment / onDidChangeActiveEnvironmentPath) or
// the older `settings.getExecutionDetails`. Pure: works on the exported object, checking every member.

export interface DisposableLike {
  dispose(): unknown;
}

export interface PythonInterpreterSource {
  /** Which API shape was found. */
  readonly kind: 'environments' | 'execution-details';
  /** The selected interpreter's executable for `resource` (a vscode Uri or undefined), if any. */
  interpreter(resource: unknown): Promise<string | undefined>;
  /** Subscribes to selection changes; undefined when the API has no change event. */
  onDidChange(listener: () => void): DisposableLike | undefined;
}

type Fn = (...args: unknown[]) => unknown;

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

function member<T = Fn>(obj: unknown, name: string, type: 'function' | 'object'): T | undefined {
  if (!isObject(obj)) return undefined;
  const v = obj[name];
  return typeof v === type && v !== null ? (v as T) : undefined;
}

/** The file-system path of a vscode Uri-like value ({ fsPath }) or a string path. */
function pathOf(x: unknown): string | undefined {
  if (typeof x === 'string') return x || undefined;
  if (isObject(x) && typeof x.fsPath === 'string') return x.fsPath || undefined;
  return undefined;
}

function subscribe(event: unknown, listener: () => void, owner: unknown): DisposableLike | undefined {
  if (typeof event !== 'function') return undefined;
  const d = (event as Fn).call(owner, () => listener());
  return isObject(d) && typeof d.dispose === 'function' ? (d as unknown as DisposableLike) : undefined;
}

/**
 * Adapts the Python extension's exports, or returns undefined when they offer neither shape. `ready` (a
 * promise the extension resolves once its interpreter list is loaded) is awaited before each query.
 */
export function adaptPythonApi(exports: unknown): PythonInterpreterSource | undefined {
  if (!isObject(exports)) return undefined;
  const r = exports.ready;
  const ready: Promise<unknown> = isObject(r) && typeof r.then === 'function' ? Promise.resolve(r).catch(() => undefined) : Promise.resolve();
  const environments = member<Record<string, unknown>>(exports, 'environments', 'object');
  const getActive = member(environments, 'getActiveEnvironmentPath', 'function');
  if (environments && getActive) {
    const resolve = member(environments, 'resolveEnvironment', 'function');
    return {
      kind: 'environments',
      async interpreter(resource) {
        await ready;
        const active = getActive.call(environments, resource);
        if (!isObject(active)) return undefined;
        const activePath = pathOf(active.path);
        if (resolve) {
          try {
            const resolved = await resolve.call(environments, active);
            if (isObject(resolved)) {
              const exe = isObject(resolved.executable) ? pathOf(resolved.executable.uri) : undefined;
              if (exe) return exe;
            }
          } catch {
            // An environment that cannot be resolved (deleted venv): fall back to the path the selection names.
          }
        }
        return activePath;
      },
      onDidChange(listener) {
        return subscribe(environments.onDidChangeActiveEnvironmentPath, listener, environments);
      },
    };
  }
  const settings = member<Record<string, unknown>>(exports, 'settings', 'object');
  const getDetails = member(settings, 'getExecutionDetails', 'function');
  if (settings && getDetails) {
    return {
      kind: 'execution-details',
      async interpreter(resource) {
        await ready;
        const details = getDetails.call(settings, resource);
        const cmd = isObject(details) ? details.execCommand : undefined;
        // A single element is the interpreter; more (`conda run -n env python`) is not a plain executable.
        if (Array.isArray(cmd) && cmd.length === 1 && typeof cmd[0] === 'string' && cmd[0] !== '') return cmd[0];
        return undefined;
      },
      onDidChange(listener) {
        return subscribe(settings.onDidChangeExecutionDetails, listener, settings);
      },
    };
  }
  return undefined;
}

export type InterpreterOrigin = 'python-extension' | 'setting' | 'path';

export interface ChosenInterpreter {
  /** An executable path, or undefined for `python3` on PATH (the server's default). */
  path?: string;
  origin: InterpreterOrigin;
}

/** The precedence: the Python extension's selection, else pygration.pythonPath, else python3 on PATH. */
export function chooseInterpreter(fromExtension: string | undefined, setting: string): ChosenInterpreter {
  if (fromExtension) return { path: fromExtension, origin: 'python-extension' };
  if (setting.trim() !== '') return { path: setting.trim(), origin: 'setting' };
  return { origin: 'path' };
}

export const ORIGIN_TEXT: Readonly<Record<InterpreterOrigin, string>> = {
  'python-extension': 'selected in the Python extension',
  setting: 'pygration.pythonPath',
  path: 'python3 on PATH',
};
