/**
 * scripts/build.mjs falling back to source archives: what a user without the archive, or with a
 * different one, is told. Uses the real Go module proxy (which refuses dex-k8s-authenticator at
 * every version) and an empty cache folder, so nothing is built.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.setTimeout(120_000);

// A private package that only ever runs from its source folder (tests, npm start), never bundled.
// eslint-disable-next-line no-restricted-syntax
const buildScript = path.resolve(__dirname, '..', 'scripts', 'build.mjs');
const targets = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', 'targets.json'), 'utf8'),
);
const authenticator = targets.targets.find(
  (t: { name: string }) => t.name === 'dex-k8s-authenticator',
);

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cluster-build-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

function build(spec: string, sources: string) {
  const r = spawnSync(
    process.execPath,
    [buildScript, '--json', '--keep-going', spec],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        LOCAL_CLUSTER_CACHE: path.join(tmp, 'cache'),
        LOCAL_CLUSTER_SOURCES: sources,
      },
    },
  );
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout)[spec] as {
    error?: string;
    bin?: Record<string, string>;
  };
}

describe('build.mjs source archives', () => {
  it('names the module, the proxy answer and the folder looked in when the archive is missing', () => {
    const empty = path.join(tmp, 'no-archives');
    fs.mkdirSync(empty);
    const { error } = build('dex-k8s-authenticator@v1.2.0', empty);
    expect(error).toContain(
      'the Go module proxy refused github.com/mintel/dex-k8s-authenticator@v1.2.0 (403 Forbidden',
    );
    expect(error).toContain(
      `dex-k8s-authenticator-v1.2.0.tar.gz is not in ${empty}`,
    );
    expect(error).toContain('LOCAL_CLUSTER_SOURCES');
  });

  it('refuses an archive whose sha256 is not the recorded one', () => {
    const folder = path.join(tmp, 'archives');
    fs.mkdirSync(folder);
    fs.writeFileSync(
      path.join(folder, authenticator.sources['v1.2.0'].archive),
      'not the release',
    );
    const { error } = build('dex-k8s-authenticator@v1.2.0', folder);
    expect(error).toContain(
      `but targets.json records ${authenticator.sources['v1.2.0'].sha256}`,
    );
    expect(
      fs.existsSync(
        path.join(
          tmp,
          'cache',
          'dex-k8s-authenticator-v1.2.0',
          'bin',
          'dex-k8s-authenticator',
        ),
      ),
    ).toBe(false);
  });
});
