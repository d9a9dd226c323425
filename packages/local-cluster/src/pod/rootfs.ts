/**
 * The pod's filesystem: writes its volumes' files into the pod folder and generates the shell
 * script that, inside the pod's private mount namespace, builds its root and execs the container:
 *
 *   overlay of the host's / (upper layer in the pod folder, so nothing on the host changes)
 *   + fresh /proc, a minimal /dev, empty tmpfs over every host folder that is not base-image-like
 *     (/tmp, /root, /home, /work, ...) so the pod sees no host data
 *   + the image's files at their image paths (bind mounts of the local builds, read-only)
 *   + every volume at its exact mountPath (Secret/ConfigMap read-only, emptyDir on tmpfs)
 *   -> remounted read-only when readOnlyRootFilesystem -> chroot, user, working folder -> exec.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ImageConfig } from './image';
import { checkPath, PodPlan } from './spec';

/** Top-level host folders that stand in for the base image (read through the overlay); others are hidden. */
const BASE_FOLDERS = new Set([
  'bin',
  'sbin',
  'lib',
  'lib32',
  'lib64',
  'libx32',
  'usr',
  'etc',
  'var',
  'proc',
  'dev',
  'sys',
]);
/** Host folders under the base ones that hold host state rather than image content. */
const HIDDEN_SUBFOLDERS = [
  '/var/tmp',
  '/var/lib',
  '/var/cache',
  '/var/log',
  '/var/mail',
  '/var/spool',
  '/var/backups',
];
const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** Single-quotes a value for sh. */
export function sh(value: string | number): string {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

/** Writes the pod's Secret/ConfigMap volume files into `dir/volumes/<n>`; returns each mount's source folder. */
export function writeVolumes(
  plan: PodPlan,
  dir: string,
  fsGroup?: number,
): string[] {
  return plan.mounts.map((m, i) => {
    const src = path.join(dir, 'volumes', String(i));
    fs.mkdirSync(src, { recursive: true, mode: 0o755 });
    if (m.kind !== 'files') return src;
    for (const f of m.files) {
      const file = path.join(src, f.path);
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      fs.writeFileSync(file, f.content, { mode: f.mode });
      fs.chmodSync(file, f.mode);
      // The kubelet gives the files to the fsGroup (and lets it read them).
      if (fsGroup !== undefined) {
        fs.chownSync(file, 0, fsGroup);
        fs.chmodSync(file, f.mode | 0o440);
      }
    }
    return src;
  });
}

/** Mount depth order (parents before children), as container runtimes sort them. */
function depth(p: string): number {
  return p.split('/').filter(Boolean).length;
}

/**
 * The setup script. Runs as root in the new mount/net/uts/pid namespaces; signals "ready" on fd 3
 * once the root is built and loopback is up, waits for a line on stdin (the parent starts its
 * port forwarder meanwhile), then execs the container's argv with only the pod's environment.
 */
export function setupScript(options: {
  plan: PodPlan;
  image: ImageConfig;
  dir: string;
  volumeSources: string[];
  hostname: string;
}): string {
  const { plan, image, dir } = options;
  const root = path.join(dir, 'root');
  const L: string[] = [
    'set -eu',
    // Shell functions with unlikely names: the pod's environment must reach the program untouched.
    `__pod_root=${sh(root)}`,
    // The path inside the pod's root, symlinks resolved within it (e.g. /var/run -> /run).
    '__pod_in() { /usr/sbin/chroot "$__pod_root" /usr/bin/realpath -m -- "$1"; }',
    '__pod_dir() { __p="$__pod_root$(__pod_in "$1")"; /usr/bin/mkdir -p -- "$__p"; }',
    '__pod_file() { __p="$__pod_root$(__pod_in "$1")"; /usr/bin/mkdir -p -- "$(/usr/bin/dirname -- "$__p")"; [ -e "$__p" ] || : > "$__p"; }',
    '__pod_ro() { /usr/bin/mount -o remount,bind,ro -- "$__p"; }',
    `/usr/bin/mount -t overlay overlay -o ${sh(`lowerdir=/,upperdir=${dir}/upper,workdir=${dir}/work`)} -- "$__pod_root"`,
    '/usr/bin/mount -t proc proc -- "$__pod_root/proc"',
    '/usr/bin/mount -t tmpfs -o mode=755,nosuid tmpfs -- "$__pod_root/dev"',
    ...DEVICES.map(
      d =>
        `: > "$__pod_root/dev/${d}"; /usr/bin/mount --bind /dev/${d} "$__pod_root/dev/${d}"`,
    ),
    '/usr/bin/mkdir -p "$__pod_root/dev/shm" "$__pod_root/dev/pts"',
    '/usr/bin/mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs -- "$__pod_root/dev/shm"',
    '/usr/bin/ln -s /proc/self/fd "$__pod_root/dev/fd"',
    '/usr/bin/ln -s /proc/self/fd/0 "$__pod_root/dev/stdin"; /usr/bin/ln -s /proc/self/fd/1 "$__pod_root/dev/stdout"; /usr/bin/ln -s /proc/self/fd/2 "$__pod_root/dev/stderr"',
  ];
  // Hide host data: every top-level folder that is not base-image-like, and state folders in /var.
  const hidden: string[] = [];
  for (const entry of fs.readdirSync('/', { withFileTypes: true })) {
    if (entry.isDirectory() && !BASE_FOLDERS.has(entry.name))
      hidden.push(`/${entry.name}`);
  }
  for (const sub of HIDDEN_SUBFOLDERS)
    if (fs.existsSync(sub) && fs.lstatSync(sub).isDirectory()) hidden.push(sub);
  for (const h of hidden) {
    const mode = h === '/tmp' || h === '/var/tmp' ? '1777' : '755';
    L.push(
      `__p="$__pod_root"${sh(h)}; /usr/bin/mount -t tmpfs -o mode=${mode},nosuid,nodev tmpfs -- "$__p"`,
    );
  }
  // The kubelet's /etc/hosts and /etc/hostname.
  fs.writeFileSync(
    path.join(dir, 'hosts'),
    `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t${options.hostname}\n`,
  );
  fs.writeFileSync(path.join(dir, 'hostname'), `${options.hostname}\n`);
  for (const f of ['hosts', 'hostname']) {
    L.push(
      `__pod_file /etc/${f}; /usr/bin/mount --bind -- ${sh(path.join(dir, f))} "$__p"; __pod_ro`,
    );
  }
  // The image: its folders (owned as in the image), then its files at their image paths.
  for (const [d, owner] of Object.entries(image.dirs)) {
    L.push(
      `__pod_dir ${sh(checkPath(d, 'image folder'))}; /usr/bin/chown ${owner.uid}:${owner.gid} -- "$__p"`,
    );
  }
  for (const [at, local] of Object.entries(image.files).sort(
    ([a], [b]) => depth(a) - depth(b),
  )) {
    const make = fs.statSync(local).isDirectory() ? '__pod_dir' : '__pod_file';
    L.push(
      `${make} ${sh(checkPath(at, 'image file'))}; /usr/bin/mount --bind -- ${sh(local)} "$__p"; __pod_ro`,
    );
  }
  // Volumes, parents first.
  const order = plan.mounts
    .map((m, i) => ({ m, src: options.volumeSources[i] }))
    .sort((a, b) => depth(a.m.mountPath) - depth(b.m.mountPath));
  for (const { m, src } of order) {
    if (m.kind === 'emptyDir') {
      const size = m.sizeBytes !== undefined ? `,size=${m.sizeBytes}` : '';
      L.push(
        `/usr/bin/mount -t tmpfs -o mode=1777,nosuid,nodev${size} tmpfs -- ${sh(src)}`,
      );
      if (m.subPath)
        L.push(`/usr/bin/mkdir -p -m 1777 -- ${sh(path.join(src, m.subPath))}`);
    }
    const from = m.subPath ? path.join(src, m.subPath) : src;
    const isFile =
      m.subPath &&
      m.kind === 'files' &&
      m.files.some(f => f.path === m.subPath);
    L.push(
      `${isFile ? '__pod_file' : '__pod_dir'} ${sh(m.mountPath)}; /usr/bin/mount --bind -- ${sh(from)} "$__p"${m.readOnly ? '; __pod_ro' : ''}`,
    );
  }
  if (plan.readOnlyRoot) {
    L.push('__p="$__pod_root"; __pod_ro');
    // A hidden folder that is also a volume's mountPath (an emptyDir at /tmp) now shows the volume: leave it writable.
    for (const h of hidden)
      if (!plan.mounts.some(m => m.mountPath === h))
        L.push(`__p="$__pod_root"${sh(h)}; __pod_ro`);
  }
  L.push(`/usr/bin/hostname ${sh(options.hostname)}`);
  L.push('/usr/sbin/ip link set lo up');
  L.push(
    'echo ready >&3',
    'read -r __pod_go || exit 1',
    'exec 3>&- </dev/null',
  );
  const priv = [
    // Changing the user clears the parent-death signal unshare set; set it again so the pod's
    // process dies with unshare (and with it the whole PID namespace).
    '--pdeathsig=KILL',
    `--reuid=${plan.uid}`,
    `--regid=${plan.gid}`,
    plan.groups.length ? `--groups=${plan.groups.join(',')}` : '--clear-groups',
    ...(plan.noNewPrivs ? ['--no-new-privs'] : []),
    ...(plan.dropAllCapabilities || plan.uid !== 0
      ? ['--inh-caps=-all', '--bounding-set=-all']
      : []),
  ];
  const argv = plan.argv.map(sh).join(' ');
  L.push(
    // sh exports PWD (the host folder it started in); a container has none unless its env sets one.
    `exec /usr/sbin/chroot "$__pod_root" /usr/bin/setpriv ${priv.join(' ')} -- /usr/bin/env ${plan.env.some(([k]) => k === 'PWD') ? '' : '-u PWD '}-C ${sh(plan.workingDir)} -- ${argv}`,
  );
  return `${L.join('\n')}\n`;
}
