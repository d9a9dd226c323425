import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ensureBinaries } from './binaries';
import { ownedWorkDir } from './workDir';
import { httpsRequest } from './https';
import { ManagedProcess, startProcess, waitFor } from './process';

export interface LocalDex {
  issuer: string;
  /** The Dex version that runs, e.g. v2.45.1. */
  version: string;
  /** The discovery document Dex served. */
  discovery: Record<string, unknown>;
  /** How many times Dex was started before it served (see `restarts`). */
  starts: number;
  /** Folder with config.yaml and dex.log; removed by stop(). */
  workDir: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export interface StartDexOptions {
  /** A Dex version built by scripts/build.mjs (targets.json), e.g. v2.45.1. */
  version: string;
  /** Dex's config; its `issuer` must be the https URL Dex serves (web.https). */
  configYaml: string;
  /** PEM of the CA that signed Dex's serving certificate; discovery is verified against it. */
  caPem: string;
  /**
   * Files to write before Dex starts, e.g. the TLS certificate and key the config names.
   * Absolute paths are written as they are; relative ones inside the Dex work folder.
   */
  files?: Record<string, string>;
  /** How long to wait for discovery (default 60 s). */
  timeoutMs?: number;
  /**
   * How often to start Dex again when it exits before serving (default 2), as the kubelet would
   * restart its pod. Dex's kubernetes storage creates its CRDs and then lists objects at once;
   * on a fresh cluster the apiserver can still answer 404 or 429 ("storage is (re)initializing")
   * for them and Dex exits; the next start finds the CRDs ready.
   */
  restarts?: number;
}

/**
 * Runs the real Dex binary of `version` with `configYaml` and waits until it serves its discovery
 * document over TLS verified against `caPem`. If Dex exits first (bad config, storage it cannot
 * use) the promise rejects with Dex's exit status and the last lines of its log.
 */
export async function startDex(options: StartDexOptions): Promise<LocalDex> {
  const bin = ensureBinaries('dex', options.version).dex;
  const issuer = String(YAML.parse(options.configYaml)?.issuer ?? '').replace(
    /\/$/,
    '',
  );
  if (!/^https:\/\//.test(issuer)) {
    throw new Error(
      `startDex: the config's issuer must be an https URL, got "${issuer}"`,
    );
  }
  const workDir = ownedWorkDir('local-dex-', {
    label: `${options.version}-`,
  });
  const remove = () => fs.rmSync(workDir, { recursive: true, force: true });
  let proc: ManagedProcess | undefined;
  try {
    for (const [name, content] of Object.entries(options.files ?? {})) {
      const file = path.resolve(workDir, name);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content, { mode: 0o600 });
    }
    const configPath = path.join(workDir, 'config.yaml');
    fs.writeFileSync(configPath, options.configYaml, { mode: 0o600 });
    // Dex before 2.29 reads its templates from ./web (build.mjs keeps a copy beside bin/).
    const web = path.join(path.dirname(bin), '..', 'web');
    if (fs.existsSync(web) && !fs.existsSync(path.join(workDir, 'web'))) {
      fs.symlinkSync(web, path.join(workDir, 'web'));
    }
    // Filled by the readiness check (a const holder: the check is a closure made in the loop).
    const served: { discovery: Record<string, unknown> } = { discovery: {} };
    const restarts = options.restarts ?? 2;
    let starts = 0;
    for (let attempt = 0; ; attempt++) {
      starts = attempt + 1;
      proc = startProcess({
        name: 'dex',
        bin,
        args: ['serve', configPath],
        workDir,
      });
      const current = proc;
      try {
        await waitFor(
          current,
          'serving discovery',
          async () => {
            const res = await httpsRequest(
              `${issuer}/.well-known/openid-configuration`,
              { caPem: options.caPem },
            );
            if (res.status !== 200) return false;
            served.discovery = JSON.parse(res.body);
            return true;
          },
          options.timeoutMs ?? 60_000,
        );
        break;
      } catch (e) {
        if (!current.exited() || attempt >= restarts) {
          const note = attempt ? ` (started ${attempt + 1} times)` : '';
          throw new Error(
            `${(e as Error).message.replace(/^dex /, `dex${note} `)}`,
          );
        }
        fs.appendFileSync(
          current.logFile,
          `[local-cluster] dex ${current.exitReason()}; starting it again\n`,
        );
        await new Promise(r => setTimeout(r, 1000 * (attempt + 1)));
      }
    }
    const p = proc;
    return {
      issuer,
      version: options.version,
      starts,
      discovery: served.discovery,
      workDir,
      process: p,
      async stop() {
        await p.stop();
        remove();
      },
    };
  } catch (e) {
    await proc?.stop();
    remove();
    throw new Error(`Dex ${options.version}: ${(e as Error).message}`);
  }
}
