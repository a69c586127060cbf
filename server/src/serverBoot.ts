// Entry point of the language server (dist/server.js): runs the server's bundle (dist/serverMain.js, built from
// server.ts) through the V8 code cache (codeCache.ts), so that a new server starts without compiling it.
import * as path from 'node:path';
import { runBundle } from './codeCache';

runBundle(path.join(__dirname, 'serverMain.js'), module);
