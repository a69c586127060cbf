// The bundled language server (dist/server.js) started over stdio with a protocol connection that answers what a
// plain client answers (work-done progress creation, code lens refresh, configuration: empty), for the tests
// that drive the real server over its real protocol. Callers add their own handlers, then listen.

import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import {
  CodeLensRefreshRequest,
  ConfigurationRequest,
  createProtocolConnection,
  type ProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  WorkDoneProgressCreateRequest,
} from 'vscode-languageserver-protocol/node';
import { REPO_ROOT } from './fixtures';

export const SERVER = path.join(REPO_ROOT, 'dist', 'server.js');

/**
 * Spawns the server (through `prefix`, e.g. setpriv, when given) and connects to it; its stderr is collected.
 * The connection is not listening yet.
 */
export function spawnLanguageServer(options: { env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): { server: ChildProcess; conn: ProtocolConnection; stderr: () => string } {
  const argv = [process.execPath, SERVER, '--stdio'];
  const full = [...(options.prefix ?? []), ...argv];
  const server = spawn(full[0], full.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) });
  let stderr = '';
  server.stderr!.on('data', (d) => (stderr += d));
  const conn = createProtocolConnection(new StreamMessageReader(server.stdout!), new StreamMessageWriter(server.stdin!));
  conn.onRequest(WorkDoneProgressCreateRequest.type, () => undefined);
  conn.onRequest(CodeLensRefreshRequest.type, () => undefined);
  conn.onRequest(ConfigurationRequest.type, () => [{}]);
  return { server, conn, stderr: () => stderr };
}
