#!/usr/bin/env node
// Entry point of the `pygration` CLI (dist/cli.js): runs the CLI's bundle (dist/cliMain.js, built from cli.ts)
// through the V8 code cache (codeCache.ts), so that each command starts without compiling it.
import * as path from 'node:path';
import { runBundle } from './codeCache';

runBundle(path.join(__dirname, 'cliMain.js'), module);
