import { execFileSync } from 'node:child_process';
import path from 'node:path';

// A private package that only ever runs from its source folder (tests, npm start), never bundled.
// eslint-disable-next-line no-restricted-syntax
const buildScript = path.resolve(__dirname, '..', 'scripts', 'build.mjs');

/** Paths of a target's binaries, building them (once, cached per user) when missing. */
export function ensureBinaries(target: string, version?: string): Record<string, string> {
  const spec = version ? `${target}@${version}` : target;
  const out = execFileSync(process.execPath, [buildScript, '--json', '--keep-going', spec], {
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  const result = Object.values(JSON.parse(out))[0] as { bin?: Record<string, string>; error?: string };
  if (!result.bin) throw new Error(result.error ?? `no binaries for ${spec}`);
  return result.bin;
}

/** The Dex versions this machine can run, and why the others cannot (the go error). */
export function dexBuilds(versions: string[]): Record<string, { bin?: string; error?: string }> {
  const out = execFileSync(
    process.execPath,
    [buildScript, '--json', '--keep-going', ...versions.map(v => `dex@${v}`)],
    { encoding: 'utf8', maxBuffer: 16 << 20 },
  );
  const parsed = JSON.parse(out) as Record<string, { bin?: Record<string, string>; error?: string }>;
  return Object.fromEntries(
    Object.entries(parsed).map(([k, r]) => [k.split('@')[1], r.bin ? { bin: r.bin.dex } : { error: r.error }]),
  );
}
