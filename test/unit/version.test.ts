// The tool's version constant matches package.json, so reports and --version never disagree with the
// package that was installed.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VERSION } from '../../native/src/version';
import { REPO_ROOT } from '../helpers/fixtures';

test('VERSION equals package.json version', () => {
  assert.equal(VERSION, JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version);
});
