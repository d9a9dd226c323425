// Where the peers' source archives are (shared/peers) and how one is verified and unpacked:
// scripts/build.mjs builds from them when the Go module proxy refuses a module version.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from './cache.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');

/**
 * Folders that may hold the peers' source archives (../shared/peers), in order:
 * $LOCAL_CLUSTER_SOURCES (or $DEX_PEERS_DIR) alone when set; else `shared/peers` in the clone's
 * parent and each folder above it; for a git worktree, also beside its main checkout.
 */
export function sourceFolders() {
  const given = process.env.LOCAL_CLUSTER_SOURCES || process.env.DEX_PEERS_DIR;
  if (given) return [path.resolve(given)];
  const folders = [];
  for (let dir = path.dirname(repoRoot); ; dir = path.dirname(dir)) {
    folders.push(path.join(dir, 'shared', 'peers'));
    if (path.dirname(dir) === dir) break;
  }
  try {
    // A worktree's .git is a file: "gitdir: <main>/.git/worktrees/<name>".
    const gitFile = fs.readFileSync(path.join(repoRoot, '.git'), 'utf8');
    const m = /^gitdir:\s*(.+?)[/\\]\.git[/\\]worktrees[/\\]/m.exec(gitFile);
    if (m) folders.push(path.resolve(m[1], '..', 'shared', 'peers'));
  } catch {
    // a plain clone (.git is a folder) or no git at all
  }
  try {
    // A clone of a local checkout (CI clones main into a fresh folder): beside its origin.
    const config = fs.readFileSync(
      path.join(repoRoot, '.git', 'config'),
      'utf8',
    );
    const origin = /\[remote "origin"\][^[]*?\burl\s*=\s*(\/[^\s]+)/.exec(
      config,
    )?.[1];
    if (origin) folders.push(path.resolve(origin, '..', 'shared', 'peers'));
  } catch {
    // no git folder, or no local origin
  }
  // Last: the copies an earlier build on this machine kept (see mirrorArchives).
  folders.push(mirrorFolder());
  return [...new Set(folders)];
}

function mirrorFolder() {
  return path.join(cacheRoot(), 'peers');
}

/**
 * Keeps a copy of every archive of the first peers folder found in the machine's cache, so a
 * clone with no shared/peers beside it (a CI checkout elsewhere) still finds them, e.g. the
 * Cluster API CRDs the tests apply. The originals stay as they are.
 */
export function mirrorArchives() {
  const mirror = mirrorFolder();
  const from = sourceFolders().find(
    f => f !== mirror && fs.existsSync(f) && fs.statSync(f).isDirectory(),
  );
  if (!from) return;
  fs.mkdirSync(mirror, { recursive: true });
  for (const name of fs.readdirSync(from)) {
    if (!name.endsWith('.tar.gz')) continue;
    const to = path.join(mirror, name);
    if (fs.existsSync(to) && sha256(to) === sha256(path.join(from, name)))
      continue;
    fs.copyFileSync(path.join(from, name), `${to}.tmp`);
    fs.renameSync(`${to}.tmp`, to);
  }
}

function sha256(file) {
  return crypto
    .createHash('sha256')
    .update(fs.readFileSync(file))
    .digest('hex');
}

/** The verified archive for target@version, or an error naming every folder looked in. */
export function findArchive(target, version, mod, refusal) {
  const source = target.sources?.[version];
  const folders = sourceFolders();
  const why = refusal
    ? `the Go module proxy refused ${mod} (${refusal}), and`
    : `${target.name} ${version} builds from its source archive, but`;
  if (!source) {
    throw new Error(
      `the Go module proxy refused ${mod} (${refusal}), and targets.json records no source archive for ${target.name} ${version}`,
    );
  }
  for (const folder of folders) {
    const file = path.join(folder, source.archive);
    if (!fs.existsSync(file)) continue;
    const actual = sha256(file);
    if (actual !== source.sha256) {
      throw new Error(
        `${file} has sha256 ${actual}, but targets.json records ${source.sha256} for ${target.name} ${version}: ` +
          'replace the archive with the recorded one (or update targets.json if the new archive is trusted)',
      );
    }
    return file;
  }
  throw new Error(
    `${why} ${source.archive} is not in ${folders.join(' or ')}. ` +
      'Put the source archive there, or set LOCAL_CLUSTER_SOURCES=<folder that holds it>.',
  );
}

/** Unpacks an archive into `into` and returns the one folder it holds (named like the archive). */
export function unpack(archive, into) {
  fs.rmSync(into, { recursive: true, force: true });
  fs.mkdirSync(into, { recursive: true });
  const r = spawnSync('tar', ['-xzf', archive, '-C', into], {
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new Error(`tar -xzf ${archive} failed: ${(r.stderr || '').trim()}`);
  const top = fs.readdirSync(into);
  if (top.length !== 1)
    throw new Error(
      `${archive} should unpack into one folder, found: ${top.join(', ')}`,
    );
  return path.join(into, top[0]);
}
