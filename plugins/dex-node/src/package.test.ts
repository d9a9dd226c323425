import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

/**
 * @tier integration (builds, packs and installs: about a minute)
 *
 * The package contract: plugins/dex-node as npm would publish it (built, `npm pack`ed, with its
 * workspace dependency dex-common packed beside it), installed into an empty folder, runs
 * `dex-pack` from its bin. Installs from the local npm cache where it can (--prefer-offline).
 */
const root = path.resolve(__dirname, '../../..');
const packages = ['plugins/dex-common', 'plugins/dex-node'];
const cli = (dir: string, args: string[]) =>
  execFileSync(
    process.execPath,
    [path.join(root, 'node_modules/@backstage/cli/bin/backstage-cli'), ...args],
    {
      cwd: dir,
      stdio: 'pipe',
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );

describe('the published dex-node package', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dex-node-pack-'));
  const install = path.join(tmp, 'install');

  beforeAll(() => {
    // Declarations first (package build reads them from dist-types): the two entry points and
    // what they import, nothing else.
    const tsconfig = path.join(tmp, 'tsconfig.json');
    fs.writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: path.join(root, 'tsconfig.json'),
        include: packages.map(p => path.join(root, p, 'src/index.ts')),
        compilerOptions: {
          outDir: path.join(root, 'dist-types'),
          rootDir: root,
          skipLibCheck: true,
          incremental: false,
          typeRoots: [path.join(root, 'node_modules/@types')],
          types: ['node'],
        },
      }),
    );
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig],
      { stdio: 'pipe' },
    );
    const tarballs: string[] = [];
    for (const p of packages) {
      const dir = path.join(root, p);
      const manifest = fs.readFileSync(path.join(dir, 'package.json'));
      cli(dir, ['package', 'build']);
      try {
        // npm pack runs prepack/postpack (backstage-cli rewrites package.json to point at dist, then back).
        const out = execFileSync(
          'npm',
          ['pack', '--pack-destination', tmp, '--json'],
          { cwd: dir, encoding: 'utf8', stdio: 'pipe' },
        );
        tarballs.push(path.join(tmp, JSON.parse(out)[0].filename));
      } finally {
        fs.writeFileSync(path.join(dir, 'package.json'), manifest);
      }
    }
    fs.mkdirSync(install);
    fs.writeFileSync(
      path.join(install, 'package.json'),
      JSON.stringify({ name: 'install-check', private: true }),
    );
    execFileSync(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--ignore-scripts',
        ...tarballs,
      ],
      {
        cwd: install,
        stdio: 'pipe',
      },
    );
  }, 600_000);

  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const p of packages)
      fs.rmSync(path.join(root, p, 'dist'), { recursive: true, force: true });
  });

  const dexPack = (args: string[]) => {
    const r = spawnSync(
      path.join(install, 'node_modules/.bin/dex-pack'),
      args,
      {
        cwd: install,
        encoding: 'utf8',
        env: { ...process.env, NODE_OPTIONS: '' },
      },
    );
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it("ships only the built code, its bin, its config schema and the status reader's RBAC, with tokens and CA data secret", () => {
    const installed = path.join(
      install,
      'node_modules/@backstage-dex/plugin-dex-node',
    );
    expect(fs.readdirSync(installed).sort()).toEqual([
      'README.md',
      'bin',
      'config.schema.json',
      'dist',
      'package.json',
      'rbac',
    ]);
    expect(fs.readdirSync(path.join(installed, 'rbac'))).toEqual([
      'dex-status-reader.yaml',
    ]);
    const manifest = JSON.parse(
      fs.readFileSync(path.join(installed, 'package.json'), 'utf8'),
    );
    expect(manifest.main).toBe('./dist/index.cjs.js');
    expect(JSON.stringify(manifest.exports['.'])).toContain('./dist/');
    // Backstage redacts config values by this schema (logs, the frontend): what it says is what holds.
    const visibility = new Map<string, string | undefined>();
    const walk = (node: unknown) => {
      if (!node || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(
        node as Record<string, unknown>,
      )) {
        if (
          ['serviceAccountToken', 'caData', 'url', 'allowed'].includes(key) &&
          value &&
          typeof value === 'object'
        ) {
          visibility.set(key, (value as { visibility?: string }).visibility);
        }
        walk(value);
      }
    };
    walk(
      JSON.parse(
        fs.readFileSync(path.join(installed, 'config.schema.json'), 'utf8'),
      ),
    );
    expect(Object.fromEntries(visibility)).toEqual({
      serviceAccountToken: 'secret',
      caData: 'secret',
      url: undefined,
      allowed: 'frontend',
    });
  });

  it('runs `dex-pack validate` from the installed bin: valid, and every problem of an invalid spec', () => {
    const good = path.join(install, 'good.yaml');
    fs.writeFileSync(
      good,
      YAML.stringify({
        cluster: 'prod',
        dex: {
          exposure: { ingress: { enabled: true, hosts: ['dex.example.com'] } },
        },
      }),
    );
    expect(dexPack(['validate', '-f', good])).toMatchObject({
      code: 0,
      out: expect.stringContaining('valid (Dex '),
    });
    const bad = path.join(install, 'bad.yaml');
    fs.writeFileSync(
      bad,
      YAML.stringify({
        cluster: 'prod',
        namespace: 'Bad_NS',
        authenticator: { enable: false },
      }),
    );
    const r = dexPack(['validate', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('- namespace: "Bad_NS" is not a valid namespace');
    expect(r.err).toContain(
      '- authenticator.enable: unknown field; did you mean "enabled"?',
    );
  });

  it('prints the JSON Schema from the installed bin', () => {
    const r = dexPack(['schema']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).properties.cluster.type).toBe('string');
  });
});
