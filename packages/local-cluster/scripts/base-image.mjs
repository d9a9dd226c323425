// The parts of the images' base layer that come from Debian packages (images.json hostPackages).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Programs of the images' base layer that come from Debian packages (images.json hostPackages:
 * alpine's /bin/sh is busybox; the authenticator's image runs tini). Installs them with apt-get
 * when missing and running as root (as e2e/run.mjs installs Chromium); else says what to install.
 */
export function ensureHostTools(log) {
  const images = JSON.parse(
    fs.readFileSync(path.join(here, '..', 'images.json'), 'utf8'),
  );
  const missing = Object.entries(images.hostPackages ?? {}).filter(
    ([file]) => !fs.existsSync(file),
  );
  if (!missing.length) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  const hint = `the pods' base image needs ${missing.map(([f]) => f).join(', ')}: apt-get install ${packages.join(' ')}`;
  if (process.getuid?.() !== 0 || !fs.existsSync('/usr/bin/apt-get'))
    throw new Error(hint);
  log(`installing ${packages.join(', ')} (apt-get): ${hint}`);
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', ...packages],
  ]) {
    const r = spawnSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0)
      throw new Error(
        `${hint}: apt-get ${args[0]} failed: ${(r.stderr || '').trim().split('\n').slice(-5).join('\n')}`,
      );
  }
}
