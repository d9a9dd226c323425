import fs from 'node:fs';

/** One `npm test` run as scripts/run.mjs records it. */
export interface TestTime {
  at: string;
  seconds: number;
  /** The run installed the npm dependencies (a fresh clone, or the lock changed). */
  npmCi: boolean;
  /** Go-built local-cluster targets that were not in the machine's cache before the run. */
  goTargetsBuilt: number;
  passed: number;
  failed: number;
  load: { start: number[]; end: number[] };
  cores: number;
  commit?: string;
}

export interface TestTimes {
  fresh?: TestTime;
  warm?: TestTime;
}

/**
 * The `npm test` times scripts/run.mjs recorded on this machine (it passes the file's path as
 * BACKSTAGE_DEX_TEST_TIMES); none when the bench runs outside `npm run bench` or before any
 * `npm test`.
 */
export function readTestTimes(
  file = process.env.BACKSTAGE_DEX_TEST_TIMES,
): TestTimes {
  if (!file) return {};
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as TestTimes;
  } catch {
    return {};
  }
}

const minutes = (s: number) =>
  `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;

/** The docs/benchmarks.md section: both runs, or what to do to fill in a missing one. */
export function testTimesMarkdown(times: TestTimes): string {
  const row = (label: string, t: TestTime | undefined, missing: string) =>
    t
      ? `| ${label} | ${minutes(t.seconds)} | ${t.at.slice(0, 16).replace('T', ' ')} UTC | ${t.commit ?? '?'} | ${t.npmCi ? 'yes' : 'no'} | ${t.goTargetsBuilt} | ${t.passed} passed, ${t.failed} failed | ${t.load.start.map(l => l.toFixed(2)).join(', ')} (${t.cores} cores) |`
      : `| ${label} | not recorded yet: ${missing} | | | | | | |`;
  return [
    '## `npm test` on this machine',
    '',
    'Recorded by `npm test` itself (scripts/run.mjs writes each run into `~/.cache/backstage-dex/npm-test-times.json`;',
    'this section shows the latest of each kind). "Fresh" is a run that had to install the npm dependencies (`npm ci`:',
    'a fresh clone), with the Go builds it found missing in the machine-wide cache; "warm" is a run in a clone that',
    'has them.',
    '',
    '| run | time | when | commit | npm ci | Go targets built | tests | load average at start |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    row(
      'fresh clone',
      times.fresh,
      '`git clone` the repository into a new folder and run `npm test` there, then `npm run bench`',
    ),
    row('warm', times.warm, 'run `npm test` twice, then `npm run bench`'),
    '',
  ].join('\n');
}
