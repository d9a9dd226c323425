import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Validator } from 'jsonschema';
import YAML from 'yaml';

const bin = path.resolve(__dirname, '../../bin/dex-pack');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('dex-pack CLI', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dex-pack-'));
  const write = (name: string, spec: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, YAML.stringify(spec));
    return file;
  };
  const good = write('good.yaml', {
    cluster: 'prod',
    namespace: 'dex',
    dex: {
      exposure: {
        serviceType: 'ClusterIP',
        ingress: { enabled: true, hosts: ['dex.example.com'] },
      },
    },
  });
  const bad = write('bad.yaml', {
    cluster: 'prod',
    namespace: 'Bad_NS',
    dex: { version: '0.1.0' },
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('validates: 0 for a valid spec, 1 with every problem for an invalid one', () => {
    expect(run(['validate', '-f', good])).toMatchObject({
      code: 0,
      out: expect.stringContaining('valid (Dex 2.45.1'),
    });
    const r = run(['validate', '-f', bad]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('- namespace: "Bad_NS" is not a valid namespace');
    expect(r.err).toContain(
      '- dex.version: Dex version "0.1.0" is not in the catalogue',
    );
  });

  it('refuses to render a LoadBalancer without a URL (only the cluster knows its address)', () => {
    const lb = write('lb.yaml', {
      cluster: 'prod',
      authenticator: { exposure: { serviceType: 'LoadBalancer' } },
    });
    const r = run(['render', '-f', lb]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'The CLI reads no cluster: the URL of the authenticator comes from the address the cloud assigns to its LoadBalancer',
    );
    expect(r.out).toBe('');
  });

  it('renders multi-document manifests and the API-server settings into a folder', () => {
    const out = path.join(dir, 'out');
    const r = run(['render', '-f', good, '-o', out]);
    expect(r.code).toBe(0);
    const docs = YAML.parseAllDocuments(
      fs.readFileSync(path.join(out, 'manifests.yaml'), 'utf8'),
    ).map(d => d.toJS());
    expect(docs.map(d => d.kind)).toEqual(
      expect.arrayContaining([
        'Namespace',
        'Deployment',
        'Service',
        'Ingress',
        'Secret',
        'ConfigMap',
      ]),
    );
    expect(
      fs.readFileSync(path.join(out, 'apiserver', 'oidc-flags.txt'), 'utf8'),
    ).toContain('--oidc-issuer-url=https://dex.example.com');
    expect(
      YAML.parse(
        fs.readFileSync(
          path.join(out, 'apiserver', 'authentication-configuration.yaml'),
          'utf8',
        ),
      ).kind,
    ).toBe('AuthenticationConfiguration');
  });

  it('refuses unknown fields, naming the one meant (the authenticator would otherwise be installed)', () => {
    const typo = write('typo.yaml', {
      cluster: 'prod',
      authenticator: { enable: false },
      dex: { replica: 2 },
      connector: [],
    });
    const r = run(['validate', '-f', typo]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      '- authenticator.enable: unknown field; did you mean "enabled"?',
    );
    expect(r.err).toContain(
      '- dex.replica: unknown field; did you mean "replicas"?',
    );
    expect(r.err).toContain(
      '- connector: unknown field; did you mean "connectors"?',
    );
  });

  it('prints the JSON Schema of the spec, which holds a valid spec and refuses a misspelt field', () => {
    const r = run(['schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.out);
    expect(schema.properties.authenticator.additionalProperties).toBe(false);
    expect(
      schema.properties.dex.properties.exposure.properties.serviceType.enum,
    ).toEqual(['ClusterIP', 'LoadBalancer', 'NodePort']);
    const validator = new Validator();
    expect(
      validator.validate(YAML.parse(fs.readFileSync(good, 'utf8')), schema)
        .errors,
    ).toEqual([]);
    expect(
      validator
        .validate({ cluster: 'prod', authenticator: { enable: false } }, schema)
        .errors.map(e => e.message),
    ).toEqual(['is not allowed to have the additional property "enable"']);
  });

  describe("with the platform's app-config (--config), as the backend reads it", () => {
    const appConfig = write('app-config.yaml', {
      kubernetes: {
        clusterLocatorMethods: [
          {
            type: 'config',
            clusters: ['prod', 'staging'].map(name => ({
              name,
              url: `https://${name}.example.com:6443`,
              authProvider: 'serviceAccount',
              serviceAccountToken: '${DEX_PACK_TEST_TOKEN}',
            })),
          },
        ],
      },
      dex: {
        defaults: { namespace: 'team-identity' },
        policy: {
          namespaces: ['team-*'],
          imageRegistry: 'mirror.example.com/dex',
        },
        clusters: { staging: { policy: { namespaces: ['*'] } } },
      },
    });
    /** An overlay, as app-config.production.yaml is one: later files win, key by key. */
    const overlay = write('app-config.overlay.yaml', {
      dex: { connectors: { allowInsecureNoSSL: true } },
    });
    const clearLdap = {
      cluster: 'prod',
      connectors: [
        {
          type: 'ldap',
          host: 'ldap.example.com:389',
          insecureNoSSL: true,
          bindDN: 'cn=dex,dc=example,dc=com',
          bindPasswordRef: { name: 'ldap', key: 'password' },
          userBaseDN: 'ou=people,dc=example,dc=com',
        },
      ],
    };

    it("refuses what the cluster's policy refuses, naming the config key; the default policy allowed it", () => {
      // good.yaml goes into namespace "dex": fine by default, not by the platform's team-* patterns.
      const r = run(['validate', '-f', good, '--config', appConfig]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /- namespace: .*"dex".*dex\.policy\.namespaces \(or dex\.clusters\.prod\.policy\.namespaces\)/,
      );
      // staging's own policy allows every namespace.
      const staging = write('staging.yaml', {
        ...YAML.parse(fs.readFileSync(good, 'utf8')),
        cluster: undefined,
      });
      expect(
        run([
          'validate',
          '-f',
          staging,
          '--config',
          appConfig,
          '--cluster',
          'staging',
        ]),
      ).toMatchObject({ code: 0 });
    });

    it('merges several files as the backend does: a later one allows LDAP without TLS', () => {
      const spec = write('clear-ldap.yaml', clearLdap);
      const refused = run(['validate', '-f', spec, '--config', appConfig]);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain(
        '- connectors[0].insecureNoSSL: the platform does not allow LDAP without TLS',
      );
      expect(refused.err).toContain('(dex.connectors.allowInsecureNoSSL)');
      expect(
        run([
          'validate',
          '-f',
          spec,
          '--config',
          appConfig,
          '--config',
          overlay,
        ]),
      ).toMatchObject({ code: 0, out: expect.stringContaining('valid') });
    });

    it("renders with the platform's defaults and image registry", () => {
      const spec = write('defaults.yaml', {
        cluster: 'prod',
        dex: { issuerUrl: 'https://dex.example.com' },
        authenticator: { enabled: false },
      });
      const r = run(['render', '-f', spec, '--config', appConfig]);
      expect(r.code).toBe(0);
      const docs = YAML.parseAllDocuments(r.out).map(d => d.toJS());
      const dex = docs.find(d => d.kind === 'Deployment');
      expect(dex.metadata.namespace).toBe('team-identity');
      expect(dex.spec.template.spec.containers[0].image).toMatch(
        /^mirror\.example\.com\/dex\//,
      );
    });

    it('exits 2 on a config it cannot use, naming the key or the cluster', () => {
      const badConfig = write('bad-config.yaml', {
        dex: { policy: { imageRegistry: 'https://mirror.example.com' } },
      });
      const spec = write('prod.yaml', { cluster: 'prod' });
      const refused = run([
        'validate',
        '-f',
        spec,
        '--config',
        appConfig,
        '--config',
        badConfig,
      ]);
      expect(refused.code).toBe(2);
      expect(refused.err).toContain('dex.policy.imageRegistry');
      const unknown = run([
        'validate',
        '-f',
        write('qa.yaml', { cluster: 'qa' }),
        '--config',
        appConfig,
      ]);
      expect(unknown.code).toBe(2);
      expect(unknown.err).toContain('cluster "qa" is not configured in');
      expect(unknown.err).toContain('configured: prod, staging');
      expect(
        run(['validate', '-f', spec, '--config', path.join(dir, 'none.yaml')])
          .code,
      ).toBe(2);
      expect(
        run([
          'validate',
          '-f',
          spec,
          '--config',
          appConfig,
          '--cluster',
          'staging',
        ]).err,
      ).toContain('--cluster staging, but');
    });
  });

  it('exits 2 on usage errors', () => {
    expect(run([]).code).toBe(2);
    expect(run(['render']).code).toBe(2);
    expect(run(['render', '-f', good, '--bogus']).code).toBe(2);
    expect(run(['validate', '-f', good, '--config']).code).toBe(2);
    expect(run(['validate', '-f', path.join(dir, 'missing.yaml')]).code).toBe(
      2,
    );
  });
});
