import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { httpsRequest } from './https';

jest.setTimeout(180_000);

/** Pids of processes whose command line mentions `text`. */
function processesMentioning(text: string): number[] {
  return fs
    .readdirSync('/proc')
    .filter(entry => /^\d+$/.test(entry))
    .filter(pid => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

describe('sharedLocalCluster', () => {
  it('is started once per process and refuses to be stopped or restarted', async () => {
    // The first copy of the module stands for one test file, the isolated copy for the next one
    // in the same jest worker (jest gives each file its own module registry).
    const { sharedLocalCluster } = await import('./shared');
    const first = await sharedLocalCluster();
    let next: typeof first | undefined;
    await jest.isolateModulesAsync(async () => {
      const again = await import('./shared');
      next = await again.sharedLocalCluster();
    });
    expect(next?.server).toBe(first.server);
    expect(next?.token).toBe(first.token);
    await expect(first.stop()).rejects.toThrow(
      /needs its own startLocalCluster/,
    );
    await expect(first.stopApiServer()).rejects.toThrow(
      /needs its own startLocalCluster/,
    );
    const res = await httpsRequest(`${first.server}/readyz`, {
      caPem: first.caPem,
      headers: { authorization: `Bearer ${first.token}` },
    });
    expect(res.status).toBe(200);
  });

  it('lets its process exit by itself, then leaves no etcd, kube-apiserver or folder behind', () => {
    if (process.env.DEX_USE_KUBECONFIG === '1') return; // an existing cluster is not started
    const script = [
      "require('./shared').sharedLocalCluster().then(c => {",
      '  process.stdout.write(JSON.stringify({ workDir: c.workDir }));',
      '});',
    ].join('\n');
    // Exits on its own only if the cluster's children do not hold the event loop open.
    const run = spawnSync(
      process.execPath,
      [
        '--require',
        require.resolve('@backstage/cli-node/config/nodeTransform.cjs'),
        '-e',
        script,
      ],
      { cwd: __dirname, encoding: 'utf8', timeout: 150_000 },
    );
    expect(run.error).toBeUndefined();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const { workDir } = JSON.parse(run.stdout) as { workDir: string };
    expect(path.basename(workDir)).toMatch(/^local-cluster-/);
    expect(fs.existsSync(workDir)).toBe(false);
    // SIGKILL was sent before exit; the kernel reaps them at once, so none may still be listed
    // (a zombie has an empty cmdline).
    expect(processesMentioning(workDir)).toEqual([]);
  });
});
