// Regenerates the shipped data files from the project's shared data: native/data/xed-isa-set-features.json
// (XED ISA-SET → CPUID conditions in canonical features) and native/data/aws-ec2.catalog.json (the AWS EC2
// catalog: measured rows inferred from the ISA-SETs each type reported, derived rows from each family's
// micro-architecture in native/data/aws-ec2-families.json, names from the AWS SDK's EC2 model). Runs the
// compiled engine, so build first:
//   npx tsc -b native && node scripts/derive-data.mjs [--check] [--report]
// --check compares with the committed files instead of writing them (exit 1 when they differ);
// --report prints the feature sets and the features the data could not decide, per instance family, and the
// features derived per micro-architecture.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const derive = require(path.join(root, 'out', 'native', 'src', 'catalog', 'derive.js'));

const check = process.argv.includes('--check');
const report = process.argv.includes('--report');
const dataDir = derive.sharedDataDir(root);
if (!dataDir) {
  console.error('Shared data not found (looked in ../shared/data next to the repository and /work/shared/data).');
  process.exit(2);
}

// Two passes: the catalog is inferred through the freshly derived table, which the compiled engine reads
// from the committed file; deriveData passes the new table explicitly, so one pass suffices.
const d = derive.deriveData(dataDir, root);
const outputs = [
  [derive.XED_TABLE_OUT, d.tableText],
  [derive.AWS_CATALOG_OUT, d.catalogText],
];
let differ = false;
for (const [rel, text] of outputs) {
  const file = path.join(root, rel);
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (old === text) {
    console.log(`${rel}: up to date (${text.length} bytes)`);
  } else if (check) {
    console.log(`${rel}: DIFFERS from what the shared data gives`);
    differ = true;
  } else {
    fs.writeFileSync(file, text);
    console.log(`${rel}: written (${text.length} bytes)`);
  }
}
if (d.catalog.warnings?.length) for (const w of d.catalog.warnings) console.log(`warning: ${w}`);
console.log(
  `${d.catalog.instances.length} instance types (${d.counts.measured} measured, ${d.counts.derived} derived; ${d.counts.excluded} SDK names excluded: Arm, previous generation, unknown processor), ${d.catalogFile.featureSets.length} distinct feature sets`,
);
if (d.unclassified.length) {
  console.error(`${d.unclassified.length} AWS SDK names are neither measured, derived nor excluded: add their family to ${derive.FAMILIES_FILE}.`);
  differ = true;
}

if (report) {
  d.catalogFile.featureSets.forEach((set, i) => {
    const insts = d.catalogFile.instances.filter((x) => x.featureSet === i);
    const families = [...new Set(insts.map((x) => x.name.split('.')[0]))].join(' ');
    const cpus = [...new Set(insts.map((x) => `${x.cpu} (${x.generation})`))].join('; ');
    console.log(`\nset ${i}: ${insts.length} types [${families}] ${cpus}`);
    console.log(`  features (${set.features.length}): ${set.features.join(' ')}`);
    console.log(`  undecidable: ${(set.undecidable ?? []).join(' ') || '-'}`);
  });
  console.log('\nderived per micro-architecture:');
  for (const [m, fs] of Object.entries(d.microarchitectures)) console.log(`  ${m} (${fs.length}): ${fs.join(' ')}`);
  console.log(`\nc6i.16xlarge as its own data proves it (${d.c6iMeasured.length}): ${d.c6iMeasured.join(' ')}`);
}
process.exit(differ ? 1 : 0);
