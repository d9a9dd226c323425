import fs from 'node:fs';
import path from 'node:path';
import {
  ManagedProcess,
  freePort,
  startProcess,
  waitFor,
} from '@backstage-dex/local-cluster';

// The repository root and this package, from the source tree (tests never run built code).
// eslint-disable-next-line no-restricted-syntax
const BACKEND_DIR = path.resolve(__dirname, '../..');
const REPO_ROOT = path.resolve(BACKEND_DIR, '../..');

/** One backend replica: packages/backend in its own Node process, as a deployment runs it. */
export interface BackendInstance {
  name: string;
  baseUrl: string;
  logFile: string;
  /** Requests with the scripts' static token. */
  fetch(urlPath: string, init?: RequestInit): Promise<Response>;
  /** SIGKILL: no shutdown hooks, no graceful task hand-over — a crashed pod. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface BackendInstanceOptions {
  name: string;
  workDir: string;
  /** Config files after app-config.yaml and app-config.production.yaml (the overlay of the test). */
  extraConfigFiles: string[];
  /** Variables the config files read (${...}); secrets travel this way, never through files. */
  env: Record<string, string>;
  /** The static external-access token of the overlay. */
  token: string;
}

/**
 * Starts `node packages/backend/src/index.ts --config app-config.yaml --config
 * app-config.production.yaml --config <overlay>` with NODE_ENV=production, through the Backstage
 * CLI's Node transform (what `backstage-cli package start` runs, minus the file watcher), and waits
 * until its readiness endpoint answers. The listen port is chosen here.
 */
export async function startBackendInstance(
  options: BackendInstanceOptions,
): Promise<BackendInstance> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    NODE_ENV: 'production',
  };
  // jest's flags (--experimental-vm-modules) are not the backend's.
  delete env.NODE_OPTIONS;
  // This replica's address; the last file wins.
  const own = path.join(options.workDir, `${options.name}.app-config.yaml`);
  fs.writeFileSync(
    own,
    JSON.stringify({
      app: { baseUrl },
      backend: {
        baseUrl,
        listen: { host: '127.0.0.1', port },
        cors: { origin: baseUrl },
      },
    }),
  );
  const configArgs = [
    path.join(REPO_ROOT, 'app-config.yaml'),
    path.join(REPO_ROOT, 'app-config.production.yaml'),
    ...options.extraConfigFiles,
    own,
  ].flatMap(f => ['--config', f]);
  const proc: ManagedProcess = startProcess({
    name: options.name,
    bin: process.execPath,
    args: [
      '--require',
      require.resolve('@backstage/cli/config/nodeTransform.cjs', {
        paths: [BACKEND_DIR],
      }),
      path.join(BACKEND_DIR, 'src', 'index.ts'),
      ...configArgs,
    ],
    cwd: BACKEND_DIR,
    workDir: options.workDir,
    env,
  });
  const call = (urlPath: string, init: RequestInit = {}) =>
    fetch(`${baseUrl}${urlPath}`, {
      ...init,
      signal: init.signal ?? AbortSignal.timeout(30_000),
      headers: {
        authorization: `Bearer ${options.token}`,
        'content-type': 'application/json',
        ...init.headers,
      },
    });
  try {
    await waitFor(
      proc,
      'ready (/.backstage/health/v1/readiness)',
      async () =>
        (
          await fetch(`${baseUrl}/.backstage/health/v1/readiness`, {
            signal: AbortSignal.timeout(5000),
          })
        ).ok,
      180_000,
    );
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    name: options.name,
    baseUrl,
    logFile: proc.logFile,
    fetch: call,
    async kill() {
      if (proc.pid !== undefined && !proc.exited())
        process.kill(proc.pid, 'SIGKILL');
      // stop() only waits for the exit when the process is already dying.
      await proc.stop();
    },
    stop: () => proc.stop(),
  };
}

/** The overlay every instance shares: the same database, cluster and token, its own port. */
export function writeOverlay(workDir: string, overlay: object): string {
  const file = path.join(workDir, 'app-config.test.yaml');
  // JSON is YAML; ${...} stays for the config loader to fill from the environment.
  fs.writeFileSync(file, JSON.stringify(overlay, null, 2));
  return file;
}
