// The export formats of a report, shared by the CLI (`--format`) and the instance view's "Copy as…" menu:
// json, k8s (NFD nodeAffinity + NodeFeatureRule), karpenter (NodePool requirement), tfvars, list. Pure: no Node.

import type { AnalysisReport } from '../report';
import { featureLabel, sortFeatures, type Feature } from '../features/vocabulary';
import { NFD_CPUID_PREFIX, NFD_DEFAULT_BLACKLIST, PYGRATION_CPUID_PREFIX, nfdHiddenByDefault, nfdName } from './nfd';

export const EXPORT_FORMATS = ['json', 'k8s', 'karpenter', 'tfvars', 'list'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One line each, for --help and the view's menu. */
export const EXPORT_FORMAT_TITLES: Readonly<Record<ExportFormat, string>> = {
  json: 'JSON report (versioned, docs/schema/report.schema.json)',
  k8s: 'Kubernetes nodeAffinity on NFD labels (+ NodeFeatureRule)',
  karpenter: 'Karpenter NodePool requirement (instance types)',
  tfvars: 'Terraform variable (list of instance types)',
  list: 'Compatible instance types, one per line',
};

export function isExportFormat(x: unknown): x is ExportFormat {
  return typeof x === 'string' && (EXPORT_FORMATS as readonly string[]).includes(x);
}

export interface ExportOptions {
  /** NFD's cpuid attribute blacklist in force on the cluster (default: NFD's default one). */
  nfdHidden?: readonly string[];
}

/** How the report's requirement maps to NFD labels. */
export interface NfdRequirement {
  /** Features NFD labels by default: `feature.node.kubernetes.io/cpu-cpuid.<NAME>`. */
  labelled: Array<{ feature: Feature; name: string }>;
  /** Features NFD hides by default: required through the NodeFeatureRule's `pygration-cpuid.<NAME>` label. */
  hidden: Array<{ feature: Feature; name: string }>;
  /** Features without an NFD name: the affinity cannot require them. */
  unmapped: Feature[];
  /**
   * xtest has no NFD flag, but it executes wherever CPUID reports RTM or HLE (Intel SDM, XTEST): required as
   * "RTM or HLE", one node selector term each. Stricter than xtest itself (a CPU whose microcode disabled TSX
   * may still run xtest), so never unsafe.
   */
  xtest: boolean;
}

export function nfdRequirement(required: readonly Feature[], hiddenNames: readonly string[] = NFD_DEFAULT_BLACKLIST): NfdRequirement {
  const out: NfdRequirement = { labelled: [], hidden: [], unmapped: [], xtest: false };
  for (const feature of sortFeatures(required)) {
    const name = nfdName(feature);
    if (feature === 'xtest') out.xtest = true;
    else if (!name) out.unmapped.push(feature);
    else if (nfdHiddenByDefault(name, hiddenNames)) out.hidden.push({ feature, name });
    else out.labelled.push({ feature, name });
  }
  return out;
}

function q(s: string): string {
  // A JSON string is a valid YAML double-quoted scalar.
  return JSON.stringify(s);
}

function who(r: AnalysisReport): string {
  const t = r.target;
  const exe = t.exe ? t.exe.slice(t.exe.lastIndexOf('/') + 1) : undefined;
  return `process ${t.pid ?? '?'}${exe ? ` (${exe})` : ''}`;
}

function requirementText(r: AnalysisReport): string {
  return r.required.length === 0 ? 'the x86-64 baseline only' : `${r.level}${r.levelExtras.length ? ` + ${r.levelExtras.map(featureLabel).join(', ')}` : ''}`;
}

function header(r: AnalysisReport): string[] {
  return [
    `# Pygration ${r.tool.version}: ${who(r)} on ${r.host.cpu} needs ${requirementText(r)}.`,
    `# Compatible with ${r.instances.compatible.length} of ${r.instances.total} types of the catalog ${r.instances.catalog}.`,
  ];
}

/** Kubernetes: a NodeFeatureRule (when needed) and a nodeAffinity that requires every needed feature's label. */
export function formatK8s(r: AnalysisReport, options: ExportOptions = {}): string {
  const hiddenNames = options.nfdHidden ?? NFD_DEFAULT_BLACKLIST;
  const req = nfdRequirement(r.required, hiddenNames);
  const out = header(r);
  out.push(`# Required features as node-feature-discovery (NFD) labels: ${req.labelled.length + req.hidden.length + (req.xtest ? 1 : 0)} of ${r.required.length}.`);
  if (req.unmapped.length) {
    out.push(
      `# NOT ENFORCED: ${req.unmapped.map(featureLabel).join(', ')} ha${req.unmapped.length === 1 ? 's' : 've'} no NFD cpuid label; this affinity does not require ${req.unmapped.length === 1 ? 'it' : 'them'}.`,
      '# Check those nodes yourself (pygration host --catalog-entry NAME on one of them), or pin instance types (--format karpenter).',
    );
  }
  const docs: string[] = [];
  if (req.hidden.length) {
    out.push(
      `# ${req.hidden.map((h) => h.name).join(', ')} ${req.hidden.length === 1 ? 'is' : 'are'} in NFD's default cpuid attributeBlacklist: no node carries ${req.hidden.length === 1 ? 'its' : 'their'} cpu-cpuid label.`,
      "# Apply the NodeFeatureRule below first: it labels nodes from NFD's raw cpu.cpuid features (which the blacklist does not filter).",
    );
    const rule = [
      'apiVersion: nfd.k8s-sigs.io/v1alpha1',
      'kind: NodeFeatureRule',
      'metadata:',
      '  name: pygration-cpuid',
      'spec:',
      '  rules:',
    ];
    for (const h of req.hidden) {
      rule.push(
        `    - name: ${q(`pygration-cpuid ${h.name}`)}`,
        '      labels:',
        `        ${q(`${PYGRATION_CPUID_PREFIX}${h.name}`)}: "true"`,
        '      matchFeatures:',
        '        - feature: cpu.cpuid',
        '          matchExpressions:',
        `            ${h.name}: {op: Exists}`,
      );
    }
    docs.push(rule.join('\n'));
  }
  const keys = [...req.labelled.map((l) => `${NFD_CPUID_PREFIX}${l.name}`), ...req.hidden.map((h) => `${PYGRATION_CPUID_PREFIX}${h.name}`)];
  const affinity = ["# Paste under the pod template's spec (spec.template.spec of a Deployment, StatefulSet, Job, …):", 'affinity:', '  nodeAffinity:', '    requiredDuringSchedulingIgnoredDuringExecution:', '      nodeSelectorTerms:'];
  const term = (extra: string[]) => {
    const all = [...keys, ...extra];
    affinity.push('        - matchExpressions:');
    if (all.length === 0) {
      // An empty term matches no node; with no feature to require, any x86-64 node will do.
      affinity.push('            - key: kubernetes.io/arch', '              operator: In', '              values: ["amd64"]');
    }
    for (const k of all) affinity.push(`            - key: ${k}`, '              operator: In', '              values: ["true"]');
  };
  if (req.xtest) {
    affinity.splice(1, 0, '# XTEST has no NFD label: it runs where CPUID reports RTM or HLE, so the two terms below (either matches) require one of them.');
    term([`${NFD_CPUID_PREFIX}RTM`]);
    term([`${NFD_CPUID_PREFIX}HLE`]);
  } else term([]);
  docs.push(affinity.join('\n'));
  return `${out.join('\n')}\n${docs.join('\n---\n')}\n`;
}

/** Karpenter: a NodePool requirement on the compatible instance types. */
export function formatKarpenter(r: AnalysisReport): string {
  const names = [...r.instances.compatible].sort();
  const out = header(r);
  out.push('# Paste under the NodePool\'s spec.template.spec.requirements:');
  if (names.length === 0) out.push('# No compatible type: this requirement matches no instance type.');
  out.push('- key: node.kubernetes.io/instance-type', '  operator: In');
  if (names.length === 0) out.push('  values: []');
  else out.push('  values:', ...names.map((n) => `    - ${q(n)}`));
  return `${out.join('\n')}\n`;
}

/** Terraform: a variable assignment (.tfvars) with the compatible instance types. */
export function formatTfvars(r: AnalysisReport): string {
  const names = [...r.instances.compatible].sort();
  const out = header(r);
  out.push('pygration_compatible_instance_types = [');
  for (const n of names) out.push(`  ${q(n)},`);
  out.push(']');
  return `${out.join('\n')}\n`;
}

/** The compatible instance types, one per line (nothing else, for shell pipelines). */
export function formatList(r: AnalysisReport): string {
  return r.instances.compatible.map((n) => `${n}\n`).join('');
}

/** The report in one of the export formats. */
export function formatExport(r: AnalysisReport, format: ExportFormat, options: ExportOptions = {}): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(r, null, 2)}\n`;
    case 'k8s':
      return formatK8s(r, options);
    case 'karpenter':
      return formatKarpenter(r);
    case 'tfvars':
      return formatTfvars(r);
    case 'list':
      return formatList(r);
  }
}
