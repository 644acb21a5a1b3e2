import { REDRIVE_OUTCOMES, type RedriveOutcome, type RedriveReport } from './redrive';

const SUMMARY_LABEL: Record<RedriveOutcome, string> = {
  redriven: 'redriven',
  'not-pending': 'skipped: no longer pending',
  undecodable: 'skipped: undecodable',
  'token-withheld': 'not redrivable: token withheld',
  'not-allowed': 'skipped: namespace or topic not allowed',
  'check-failed': 'skipped: pending check failed',
  filtered: 'skipped: error class not selected',
};

/**
 * The report as operators read it: one line per record (partition/offset, error class, outcome, detail), then
 * the count of each outcome. With `--dry-run`, "redriven" reads "would redrive".
 */
export function formatRedriveReport(report: RedriveReport): string {
  const redrivenLabel = report.dryRun ? 'would redrive' : 'redriven';
  const header = ['RECORD', 'ERROR CLASS', 'OUTCOME', 'DETAIL'];
  const lines = report.rows.map((row) => [
    `${row.partition}/${row.offset}`,
    row.errorClass ?? '-',
    row.outcome === 'redriven' ? redrivenLabel : row.outcome,
    [row.workflowId && `workflow ${row.workflowId} activity ${row.activityId ?? '?'}`, row.detail]
      .filter(Boolean)
      .join(': '),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...lines.map((line) => (line[column] ?? '').length)),
  );
  const format = (line: string[]): string =>
    line
      .map((cell, column) => (column === line.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  const spans = report.spans.map((span) => `${span.partition}:[${span.start}, ${span.end})`).join(' ') || 'nothing';
  const out = [
    `${report.dryRun ? 'DRY RUN (nothing produced): ' : ''}dead-letter topic ${report.topic}, offsets read ${spans}`,
    '',
  ];
  if (lines.length > 0) out.push(format(header), ...lines.map(format), '');
  for (const outcome of REDRIVE_OUTCOMES) {
    const label = outcome === 'redriven' ? redrivenLabel : SUMMARY_LABEL[outcome];
    out.push(`${label.padEnd(40)} ${report.counts[outcome]}`);
  }
  out.push(`${'workflow runs described'.padEnd(40)} ${report.describeCalls}`);
  return out.join('\n');
}
