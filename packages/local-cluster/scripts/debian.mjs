// Debian packages the local cluster's peers come from, installed with apt-get when missing.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * Installs the Debian packages of the files in `files` (file -> package) that are missing, with
 * apt-get when running as root (as e2e/run.mjs installs Chromium); else throws what to install.
 * `why` says who needs them.
 */
export function ensureDebianPackages(files, why, log) {
  const missing = Object.entries(files).filter(
    ([file]) => !fs.existsSync(file),
  );
  if (!missing.length) return;
  const packages = [...new Set(missing.map(([, pkg]) => pkg))];
  const hint = `${why} needs ${missing.map(([f]) => f).join(', ')}: apt-get install ${packages.join(' ')}`;
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

/** OpenLDAP's server and client tools, for the LDAP login tests (src/slapd.ts). */
export const LDAP_PACKAGES = {
  '/usr/sbin/slapd': 'slapd',
  '/usr/bin/ldapwhoami': 'ldap-utils',
};
