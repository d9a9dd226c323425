import fs from 'node:fs';
import path from 'node:path';
import { Build, ensureBuilds } from '../binaries';

/** What a container image runs (images.json, read from each release's Dockerfile). */
export interface ImageConfig {
  image: string;
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  uid: number;
  gid: number;
  env: Record<string, string>;
  /** Absolute path in the image -> the built file or folder on this machine that sits there. */
  files: Record<string, string>;
  /** Folders the image creates, with their owner. */
  dirs: Record<string, { uid: number; gid: number }>;
}

interface ImageEntry {
  target: string;
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  user: string;
  env: Record<string, string>;
  files: Record<string, string>;
  dirs?: Record<string, string>;
}

// A private package that only ever runs from its source folder (tests, npm start), never bundled.
// eslint-disable-next-line no-restricted-syntax
const imagesFile = path.resolve(__dirname, '..', '..', 'images.json');

let catalogue: Record<string, ImageEntry> | undefined;
/** Builds already checked by this process (build.mjs is a child process: ~0.1-0.5 s a run). */
const knownBuilds = new Map<string, Build>();
function images(): Record<string, ImageEntry> {
  catalogue ??= JSON.parse(fs.readFileSync(imagesFile, 'utf8'))
    .images as Record<string, ImageEntry>;
  return catalogue;
}

function ids(user: string, what: string): { uid: number; gid: number } {
  const m = /^(\d+):(\d+)$/.exec(user);
  if (!m)
    throw new Error(
      `images.json: ${what} must be numeric uid:gid, got "${user}"`,
    );
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

/** The images runPod can run. */
export function knownImages(): string[] {
  return Object.keys(images());
}

/**
 * Resolves an image to what it runs, building its programs (once, cached) when missing. Fails for
 * an image that has no local build, naming the ones that do.
 */
export function resolveImage(image: string): ImageConfig {
  const entry = images()[image];
  if (!entry) {
    throw new Error(
      `No local build of image "${image}": runPod runs the images listed in packages/local-cluster/images.json (${knownImages().join(', ')})`,
    );
  }
  // One run of build.mjs for the builds the image's files come from, once per process.
  const specs = [
    ...new Set(
      Object.values(entry.files)
        .filter(f => !f.startsWith('host:'))
        .map(f => f.split(':')[0]),
    ),
  ];
  const missing = specs.filter(spec => !knownBuilds.has(spec));
  if (missing.length)
    for (const [spec, build] of Object.entries(ensureBuilds(missing)))
      knownBuilds.set(spec, build);
  const builds = Object.fromEntries(
    specs.map(spec => [spec, knownBuilds.get(spec)!]),
  );
  const files: Record<string, string> = {};
  for (const [at, source] of Object.entries(entry.files)) {
    const host = /^host:(\/.+)$/.exec(source)?.[1];
    const local =
      host ??
      path.join(
        builds[source.split(':')[0]].dir,
        source.slice(source.indexOf(':') + 1),
      );
    if (!fs.existsSync(local)) {
      const hint = host
        ? ' (node packages/local-cluster/scripts/build.mjs installs the base image tools)'
        : '';
      throw new Error(
        `Image ${image}: ${at} comes from ${local}, which is missing${hint}`,
      );
    }
    files[at] = local;
  }
  const { uid, gid } = ids(entry.user, `${image} user`);
  return {
    image,
    entrypoint: entry.entrypoint,
    cmd: entry.cmd,
    workingDir: entry.workingDir || '/',
    uid,
    gid,
    env: entry.env,
    files,
    dirs: Object.fromEntries(
      Object.entries(entry.dirs ?? {}).map(([d, owner]) => [
        d,
        ids(owner, `${image} ${d}`),
      ]),
    ),
  };
}
