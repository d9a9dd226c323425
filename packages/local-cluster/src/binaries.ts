import { execFileSync } from 'node:child_process';
import path from 'node:path';

// A private package that only ever runs from its source folder (tests, npm start), never bundled.
// eslint-disable-next-line no-restricted-syntax
const buildScript = path.resolve(__dirname, '..', 'scripts', 'build.mjs');

/** A built target: its binaries and the folder holding them and its assets (web/, templates/, ...). */
export interface Build {
  bin: Record<string, string>;
  dir: string;
}

/** Several targets' builds (`target@version` specs) with one run of build.mjs; throws the first error. */
export function ensureBuilds(specs: string[]): Record<string, Build> {
  const out = execFileSync(
    process.execPath,
    [buildScript, '--json', '--keep-going', ...specs],
    {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    },
  );
  const results = JSON.parse(out) as Record<
    string,
    Partial<Build> & { error?: string }
  >;
  return Object.fromEntries(
    specs.map(spec => {
      // build.mjs keys results by target@version (the target's default version when none was given).
      const key = spec.includes('@')
        ? spec
        : (Object.keys(results).find(k => k.startsWith(`${spec}@`)) ?? spec);
      const result = results[key];
      if (!result?.bin || !result.dir)
        throw new Error(result?.error ?? `no binaries for ${spec}`);
      return [spec, { bin: result.bin, dir: result.dir }];
    }),
  );
}

/** A target's build, building it (once, cached per user) when missing. */
export function ensureBuild(target: string, version?: string): Build {
  const spec = version ? `${target}@${version}` : target;
  return Object.values(ensureBuilds([spec]))[0];
}

/** Paths of a target's binaries, building them (once, cached per user) when missing. */
export function ensureBinaries(
  target: string,
  version?: string,
): Record<string, string> {
  return ensureBuild(target, version).bin;
}

/** The Dex versions this machine can run, and why the others cannot (the go error). */
export function dexBuilds(
  versions: string[],
): Record<string, { bin?: string; error?: string }> {
  const out = execFileSync(
    process.execPath,
    [buildScript, '--json', '--keep-going', ...versions.map(v => `dex@${v}`)],
    { encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  const parsed = JSON.parse(out) as Record<
    string,
    { bin?: Record<string, string>; error?: string }
  >;
  return Object.fromEntries(
    Object.entries(parsed).map(([k, r]) => [
      k.split('@')[1],
      r.bin ? { bin: r.bin.dex } : { error: r.error },
    ]),
  );
}

/** The folders searched for the peers' source archives (`shared/peers`; see build.mjs sourceFolders). */
export function sourceFolders(): string[] {
  return JSON.parse(
    execFileSync(process.execPath, [buildScript, '--sources'], {
      encoding: 'utf8',
    }),
  ) as string[];
}
