// The `pygration catalog` command: `catalog import --nfd FILE` turns `kubectl get nodes -o json` into a catalog
// of the cluster's distinct node CPU feature sets (nfdImport.ts), printed as JSON for --catalog.

import { UsageError, parseArgs } from './args';
import { readUserJson } from '../userFile';
import { parseCatalog } from '../catalog/catalog';
import { importNfdNodes, type NfdCatalog } from '../catalog/nfdImport';

export const CATALOG_HELP = `  pygration catalog import --nfd FILE [--name NAME] [--nfd-hidden LIST|none]
      A catalog of your Kubernetes cluster from FILE, the output of 'kubectl get nodes -o json': one row per
      distinct node CPU feature set, named by the node.kubernetes.io/instance-type label (and the node pool label
      of GKE, EKS, Karpenter or AKS when a type has several), from node-feature-discovery's cpu-cpuid labels.
      NFD hides some flags by default (BMI1, BMI2, LZCNT, F16C, POPCNT, SSE4.2, … its cpuid attributeBlacklist;
      --nfd-hidden gives your cluster's list, or none): those are unknown on the rows, which counts as absent,
      so a workload that needs one is refused there with the feature marked unknown. Prints the catalog JSON
      (use it with --catalog); nodes skipped and labels not understood go to stderr.`;

export function runCatalog(argv: readonly string[]): number {
  const [sub, ...rest] = argv;
  if (sub !== 'import') throw new UsageError(`catalog needs a subcommand: catalog import --nfd FILE (not '${sub ?? ''}').`);
  const args = parseArgs(rest, { values: ['nfd', 'name', 'nfd-hidden'], flags: [] });
  if (args.positional.length) throw new UsageError(`Unexpected argument '${args.positional[0]}'.`);
  const file = args.options.get('nfd');
  if (!file) throw new UsageError('catalog import needs --nfd FILE (the output of kubectl get nodes -o json).');
  const name = args.options.get('name');
  if (name !== undefined && !/^\S+$/.test(name)) throw new UsageError('--name must not contain spaces.');
  const hiddenText = args.options.get('nfd-hidden');
  const hidden = hiddenText === undefined ? undefined : hiddenText === 'none' ? [] : hiddenText.split(/[,\s]+/).filter(Boolean).map((s) => s.toUpperCase());
  const r = importNfdNodes(readUserJson(file, 'node list', 256 * 1024 * 1024), { subject: file, name, hidden });
  // What we print must load as a catalog: parse it back (throws a malformed error naming the entry if not).
  parseCatalog(JSON.parse(JSON.stringify(r.catalog)), `${file} (imported)`);
  for (const w of r.warnings) process.stderr.write(`pygration: ${w}\n`);
  const unknown = r.catalog.featureSets.some((s) => s.undecidable?.length);
  process.stderr.write(
    `pygration: ${r.nodes} node${r.nodes === 1 ? '' : 's'} → ${r.catalog.instances.length} catalog row${r.catalog.instances.length === 1 ? '' : 's'} (${r.catalog.featureSets.length} distinct CPU feature set${r.catalog.featureSets.length === 1 ? '' : 's'}).` +
      (unknown ? ' Features NFD hides by default are unknown on these rows and count as absent (see the catalog\'s "about").' : '') +
      '\n',
  );
  process.stdout.write(formatImported(r.catalog));
  return 0;
}

/** The imported catalog as stable JSON: one feature set and one row per line (diffs show what changed). */
function formatImported(c: NfdCatalog): string {
  const list = (items: unknown[]) => items.map((x, i) => `    ${JSON.stringify(x)}${i < items.length - 1 ? ',' : ''}`);
  return [
    '{',
    `  "name": ${JSON.stringify(c.name)},`,
    `  "source": ${JSON.stringify(c.source)},`,
    `  "about": ${JSON.stringify(c.about)},`,
    '  "featureSets": [',
    ...list(c.featureSets),
    '  ],',
    '  "instances": [',
    ...list(c.instances),
    '  ]',
    '}',
    '',
  ].join('\n');
}
