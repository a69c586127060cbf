// A node:test reporter that prints only a summary of the skips of the run: how many tests (and whole suites)
// were skipped, and each one with its file and reason. scripts/test.sh adds it beside the usual reporter.
import * as path from 'node:path';

export default async function* skipReport(source) {
  const skipped = [];
  let ran = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    const suite = d.details?.type === 'suite';
    if (d.skip !== undefined && d.skip !== false) {
      const where = d.file ? path.relative(process.cwd(), d.file) : '?';
      skipped.push(`  ${suite ? 'suite ' : ''}${where}: ${d.name} — ${d.skip === true ? 'no reason given' : d.skip}`);
    } else if (!suite) ran++;
  }
  yield `skips: ${skipped.length} skipped (${ran} tests ran)${skipped.length ? ':' : ''}\n`;
  for (const line of skipped) yield `${line}\n`;
}
