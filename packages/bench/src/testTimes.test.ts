import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readTestTimes, testTimesMarkdown } from './testTimes';

describe('npm test times in docs/benchmarks.md', () => {
  it('shows the recorded fresh and warm runs', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-times-'));
    const file = path.join(dir, 'npm-test-times.json');
    const run = {
      at: '2026-11-30T03:00:00.000Z',
      npmCi: false,
      goTargetsBuilt: 0,
      passed: 240,
      failed: 0,
      load: { start: [1, 2, 3], end: [1, 2, 3] },
      cores: 2,
      commit: 'abc1234',
    };
    fs.writeFileSync(
      file,
      JSON.stringify({
        fresh: { ...run, seconds: 1017, npmCi: true, goTargetsBuilt: 14 },
        warm: { ...run, seconds: 541 },
      }),
    );
    const markdown = testTimesMarkdown(readTestTimes(file));
    fs.rmSync(dir, { recursive: true });
    expect(markdown).toContain(
      '| fresh clone | 16 min 57 s | 2026-11-30 03:00 UTC | abc1234 | yes | 14 | 240 passed, 0 failed | 1.00, 2.00, 3.00 (2 cores) |',
    );
    expect(markdown).toContain('| warm | 9 min 01 s |');
  });

  it('says how to fill in what was not recorded', () => {
    const markdown = testTimesMarkdown(
      readTestTimes('/nonexistent/times.json'),
    );
    expect(markdown).toContain(
      '| fresh clone | not recorded yet: `git clone` the repository',
    );
    expect(markdown).toContain(
      '| warm | not recorded yet: run `npm test` twice',
    );
  });
});
