/* eslint-disable no-console */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalCluster } from '@backstage-dex/local-cluster';
import {
  benchCertificates,
  benchProvision,
  summarizeProvision,
} from './provision';
import { median } from './stats';
import { HelmPeer, helmPeer } from './helm';
import { progressOnStderr } from './progress';
import { floorSection, goalLines, report } from './report';
import { benchReady, readyMarkdown } from './ready';
import { benchStatusReport } from './status';
import { readTestTimes } from './testTimes';

/**
 * `npm run bench` (repeat counts from BENCH_RUNS, default 7; BENCH_HELM=0 leaves Helm out,
 * BENCH_READY=0 the time to Ready and login on the cluster with its node).
 * Writes docs/benchmarks.md and prints every goal as met / not met. BENCH_ONLY=floor measures only
 * provision and the unchanged re-run against the floor, BENCH_ONLY=status the status part, and
 * prints that part; docs/benchmarks.md, whose figures all come from one run, is left as it is.
 */
async function main() {
  const runs = Number(process.env.BENCH_RUNS ?? 7);
  if (process.env.BENCH_ONLY === 'floor') {
    await floorOnly(runs);
    return;
  }
  const loadAtStart = os.loadavg();
  const progress = progressOnStderr();
  progress('building / finding the local cluster and starting it');
  const cluster = await startLocalCluster();
  let helm: HelmPeer | undefined;
  try {
    if (process.env.BENCH_ONLY === 'status') {
      const { markdown } = await benchStatusReport(cluster, runs, progress);
      const load = os.loadavg();
      console.log(
        `${markdown}\n\nLoad average ${loadAtStart.map(l => l.toFixed(2)).join(', ')} at the start, ${load.map(l => l.toFixed(2)).join(', ')} at the end.\n\nGoals:\n${goalLines(markdown).join('\n')}`,
      );
      progress('done');
      return;
    }
    if (process.env.BENCH_ONLY) {
      throw new Error(
        `BENCH_ONLY=${process.env.BENCH_ONLY}: only "status" or "floor" can be measured alone`,
      );
    }
    if (process.env.BENCH_HELM !== '0') {
      progress('building / finding helm and unpacking the charts');
      helm = helmPeer(cluster);
    }
    const provision = await benchProvision(cluster, runs, { helm, progress });
    progress('certificates');
    const certificates = benchCertificates(Math.max(runs, 10));
    const status = await benchStatusReport(cluster, runs, progress);
    const ready =
      process.env.BENCH_READY === '0'
        ? undefined
        : readyMarkdown(
            await benchReady(Math.min(runs, 5), progress, {
              helm: process.env.BENCH_HELM !== '0',
            }),
          );
    const markdown = report({
      command: `BENCH_RUNS=${runs} npm run bench`,
      cores: os.cpus().length,
      load: { start: loadAtStart, end: os.loadavg() },
      kubernetes: cluster.version,
      provision,
      provisionSummary: summarizeProvision(provision),
      certificatesMedianMs: median(certificates.map(c => c.totalMs)),
      certificates,
      status,
      readyMarkdown: ready,
      testTimes: readTestTimes(),
    });
    // A script run from the source tree (scripts/run.mjs), never built: __dirname is this folder.
    // eslint-disable-next-line no-restricted-syntax
    const out = path.resolve(__dirname, '../../../docs/benchmarks.md');
    fs.writeFileSync(out, markdown);
    console.log(markdown);
    console.log(
      `written to ${out}\n\nGoals:\n${goalLines(markdown).join('\n')}`,
    );
    progress('done');
  } finally {
    helm?.close();
    await cluster.stop();
  }
}

async function floorOnly(runs: number) {
  const progress = progressOnStderr();
  progress('building / finding the local cluster and starting it');
  const cluster = await startLocalCluster();
  try {
    const provision = await benchProvision(cluster, runs, {
      progress,
      floorOnly: true,
    });
    const markdown = floorSection({
      provision,
      provisionSummary: summarizeProvision(provision),
    }).join('\n');
    console.log(
      `${markdown}\nLoad average (1, 5, 15 min) at the end: ${os
        .loadavg()
        .map(l => l.toFixed(2))
        .join(', ')}`,
    );
    progress('done');
  } finally {
    await cluster.stop();
  }
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
