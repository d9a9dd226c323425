import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A new working folder `<root>/<prefix><pid>-<label>XXXXXX`, named after the process that owns it.
 * Its owner removes it when it stops; a process killed before that (a jest worker past its
 * timeout, SIGKILL, OOM) runs no cleanup, so folders of the same prefix whose owner is gone are
 * removed here first (an etcd data folder is 128 MB: a few hundred killed runs filled the disk).
 */
export function ownedWorkDir(
  prefix: string,
  options: { root?: string; label?: string } = {},
): string {
  const root = options.root ?? os.tmpdir();
  removeAbandoned(root, prefix);
  return fs.mkdtempSync(
    path.join(root, `${prefix}${process.pid}-${options.label ?? ''}`),
  );
}

function removeAbandoned(root: string, prefix: string) {
  for (const name of fs.readdirSync(root)) {
    if (!name.startsWith(prefix)) continue;
    const owner = /^(\d+)-/.exec(name.slice(prefix.length))?.[1];
    if (!owner || isAlive(Number(owner))) continue;
    fs.rmSync(path.join(root, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, owned by another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
