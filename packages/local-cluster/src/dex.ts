import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { ensureBinaries } from './binaries';
import { httpsRequest } from './https';
import { ManagedProcess, startProcess, waitFor } from './process';

export interface LocalDex {
  issuer: string;
  /** The discovery document Dex served. */
  discovery: Record<string, unknown>;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Runs the real Dex binary of `version` with `configYaml` (files it names must exist) and waits
 * until it serves its discovery document over TLS verified against `caPem`.
 */
export async function startDex(options: {
  version: string;
  configYaml: string;
  caPem: string;
  /** Extra files to write beside the config, e.g. the TLS certificate and key it references. */
  files?: Record<string, string>;
}): Promise<LocalDex> {
  const bin = ensureBinaries('dex', options.version).dex;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `dex-${options.version}-`));
  for (const [name, content] of Object.entries(options.files ?? {})) {
    fs.mkdirSync(path.dirname(name), { recursive: true });
    fs.writeFileSync(name, content, { mode: 0o600 });
  }
  const configPath = path.join(workDir, 'config.yaml');
  fs.writeFileSync(configPath, options.configYaml, { mode: 0o600 });
  const issuer = String(YAML.parse(options.configYaml).issuer).replace(/\/$/, '');
  const proc = startProcess({ name: 'dex', bin, args: ['serve', configPath], workDir });
  let discovery: Record<string, unknown> = {};
  try {
    await waitFor(proc, 'serving discovery', async () => {
      const res = await httpsRequest(`${issuer}/.well-known/openid-configuration`, { caPem: options.caPem });
      if (res.status !== 200) return false;
      discovery = JSON.parse(res.body);
      return true;
    }, 60_000);
  } catch (e) {
    await proc.stop();
    throw e;
  }
  return {
    issuer,
    discovery,
    process: proc,
    async stop() {
      await proc.stop();
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}
