// The identifier strings of an object's read-only data (native/src/trace/codeStrings.ts), on gcc-built objects: a
// merged string's tail counts only where something points at it, and a lookup's names are those code passes as one.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ElfFile } from '../../native/src/elf/elfFile';
import { openFileSource } from '../../native/src/elf/byteSource';
import { sectionIdentifiers } from '../../native/src/trace/codeStrings';
import { type BuildOptions, buildC } from '../helpers/fixtures';

function identifiers(file: string, lookupsOnly: boolean): Set<string> {
  const elf = ElfFile.open(openFileSource(file));
  try {
    const out = new Set<string>();
    sectionIdentifiers(elf, '.rodata', out, lookupsOnly);
    return out;
  } finally {
    elf.close();
  }
}

const KINDS: [string, BuildOptions][] = [
  ['a shared object (lea rsi)', { shared: true }],
  ['a non-PIE executable (mov esi, imm32)', { flags: ['-no-pie', '-fno-pie'] }],
];
for (const [kind, options] of KINDS) {
  test(`read-only identifiers of ${kind}: a merged tail counts where referenced; lookups are second arguments`, () => {
    const file = buildC('c/rodata_refs.c', options);
    const all = identifiers(file, false);
    for (const n of ['prefix_merged_tail', 'merged_tail', 'other_shown_tail', 'shown_tail']) assert.ok(all.has(n), `${n}: ${[...all].join(' ')}`);
    for (const n of ['erged_tail', 'fix_merged_tail', 'hown_tail']) assert.ok(!all.has(n), `${n} is a tail no one points at`);
    const lookups = identifiers(file, true);
    assert.ok(lookups.has('merged_tail'), `the lookup's name: ${[...lookups].join(' ')}`);
    assert.ok(!lookups.has('shown_tail') && !lookups.has('prefix_merged_tail'), `a message's argument and a returned string are no lookups: ${[...lookups].join(' ')}`);
  });
}
