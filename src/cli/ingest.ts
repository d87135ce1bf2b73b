/**
 * @module cli/ingest
 * `symphainy ingest <file>`: runs `ingest_file` and `parse_content` (parse, profile,
 * embeddings) through the runtime on a private embedded store and prints the dataset
 * profile: a readable table, or DOMAIN.md's shape with `--json`. Progress goes to stderr.
 */
import { parseArgs } from 'node:util';
import { FORMATS } from '../realms/content/source.js';
import type { ColumnProfile, DatasetProfile } from '../realms/content/profile/index.js';
import { usageError, type Command } from './command.js';
import { putLocalFile, runIntentOffline, withOfflineRuntime } from './offline.js';

function bar(done: number, total: number | null): string {
  if (!total) return `${(done / 1024 / 1024).toFixed(1)} MiB`;
  const share = Math.min(1, done / total);
  const width = 30;
  const full = Math.round(share * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(share * 100).toFixed(0)}%`;
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  const s = String(v);
  return s.length > 24 ? `${s.slice(0, 23)}…` : s;
}

function table(profile: DatasetProfile, title: string): string {
  const head = ['column', 'type', 'nulls', 'distinct', 'min', 'max', 'top pattern', 'pii'];
  const rows = profile.columns.map((c: ColumnProfile) => [
    c.name,
    c.inferredType + (c.dateFormat ? ` ${c.dateFormat}` : c.impliedScale ? ` /10^${c.impliedScale}` : ''),
    `${(c.nullRate * 100).toFixed(1)}%`,
    String(c.distinctEstimate),
    cell(c.min),
    cell(c.max),
    c.patterns[0] ? `${c.patterns[0].shape} ${(c.patterns[0].share * 100).toFixed(0)}%` : '',
    c.pii ? `${c.pii.kind}${c.pii.masked ? ' (masked)' : ''}` : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  const keys = profile.candidateKeys.length ? profile.candidateKeys.map((k) => k.join('+')).join(', ') : 'none';
  return [title, `${profile.rowCount} rows; candidate keys: ${keys}`, '', line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const ingestCommand: Command = {
  name: 'ingest',
  usage: 'ingest <file> [--format f] [--json] [--data-dir d]  parse and profile a local file (offline)',
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        json: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        quiet: { type: 'boolean', default: false },
      },
    });
    const path = positionals[0];
    if (!path) throw usageError('ingest needs a file');
    if (values.format !== undefined && !(FORMATS as readonly string[]).includes(values.format)) {
      throw usageError(`--format must be one of ${FORMATS.join(', ')}`);
    }
    const showProgress = !values.quiet && process.stderr.isTTY === true;
    await withOfflineRuntime(values['data-dir'], async (session) => {
      const file = await putLocalFile(session, path);
      await runIntentOffline(session, 'ingest_file', { fileId: file.id });
      const parsed = await runIntentOffline(session, 'parse_content', { fileId: file.id, ...(values.format ? { format: values.format } : {}) }, {
        ...(showProgress ? { onProgress: (p) => process.stderr.write(`\r${p.phase} ${bar(p.done, p.total)}   `) } : {}),
      });
      if (showProgress) process.stderr.write('\r\u001b[K');
      const profiles = parsed.artifacts.filter((a) => a.kind === 'datasetProfile');
      const datasets = parsed.artifacts.filter((a) => a.kind === 'dataset');
      if (values.json) {
        const out = profiles.length === 1 ? profiles[0]!.body : profiles.map((p) => p.body);
        process.stdout.write(`${JSON.stringify(profiles.length ? out : parsed.artifacts.find((a) => a.kind === 'document')?.body ?? null)}\n`);
        return;
      }
      if (profiles.length === 0) {
        const doc = parsed.artifacts.find((a) => a.kind === 'document')?.body as { sections: { title: string; level: number }[]; passages: unknown[]; lines: number } | undefined;
        if (doc) {
          process.stdout.write(`${file.name}: document, ${doc.lines} lines, ${doc.sections.length} sections, ${doc.passages.length} passages\n`);
          for (const s of doc.sections) process.stdout.write(`${'  '.repeat(Math.max(0, s.level - 1))}- ${s.title || '(untitled)'}\n`);
        }
        return;
      }
      profiles.forEach((p, i) => {
        const sheet = (datasets[i]?.body as { sheet?: string } | undefined)?.sheet;
        process.stdout.write(`${table(p.body as DatasetProfile, `${file.name}${sheet ? ` [${sheet}]` : ''}`)}\n\n`);
      });
    });
  },
};
