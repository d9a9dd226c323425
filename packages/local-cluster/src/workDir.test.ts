import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownedWorkDir } from './workDir';

describe('ownedWorkDir', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'work-dir-test-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('names the folder after its owner and removes folders whose owner died, keeping the living and the unrelated', () => {
    const deadPid = spawnSync('true').pid!;
    const abandoned = path.join(root, `local-cluster-${deadPid}-abc123`);
    const living = path.join(root, `local-cluster-${process.pid}-def456`);
    const unrelated = path.join(root, 'local-cluster-VkE8d2');
    const otherPrefix = path.join(root, `local-slapd-${deadPid}-ghi789`);
    for (const dir of [abandoned, living, unrelated, otherPrefix]) {
      fs.mkdirSync(path.join(dir, 'etcd'), { recursive: true });
    }

    const made = ownedWorkDir('local-cluster-', { root, label: 'x-' });

    expect(path.basename(made)).toMatch(
      new RegExp(`^local-cluster-${process.pid}-x-\\w{6}$`),
    );
    expect(fs.readdirSync(root).sort()).toEqual(
      [path.basename(made), living, unrelated, otherPrefix]
        .map(p => path.basename(p))
        .sort(),
    );
  });
});
