// The parts of the images' base layer that come from Debian packages (images.json hostPackages).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianPackages } from './debian.mjs';

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
  ensureDebianPackages(images.hostPackages ?? {}, "the pods' base image", log);
}
