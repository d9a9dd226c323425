import YAML from 'yaml';
import { LocalCluster, startLocalCluster } from '@backstage-dex/local-cluster';
import { LABEL_INSTANCE, PackSpec } from '@backstage-dex/plugin-dex-common';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { clientNode } from '../cluster/clientNode';
import { ProvisionOptions, ProvisionResult, provisionPack } from '../provision';
import { readDexStatus } from '../status';
import {
  adminKubeConfig,
  createNamespace,
  createSecret,
  packSpec,
  readSecret,
  secretValue,
} from './helpers';

jest.setTimeout(120_000);

const NS = 'secure';
const CONNECTOR_SECRET = 'gh-connector-s3cret-0451';
const LDAP_PASSWORD = 'ldap-bind-pw-8812';
const PASSWORD = 'admin-password-1729';

function spec(namespace = NS): PackSpec {
  return packSpec(namespace, {
    connectors: [
      {
        type: 'github',
        id: 'github',
        name: 'GitHub',
        clientId: 'gh-app',
        clientSecretRef: { name: 'upstream', key: 'github' },
      },
      {
        type: 'ldap',
        id: 'corp',
        name: 'Corp LDAP',
        host: 'ldap.example.test:636',
        bindDN: 'cn=dex,dc=example,dc=test',
        bindPasswordRef: { name: 'upstream', key: 'ldap' },
        userBaseDN: 'ou=people,dc=example,dc=test',
      },
    ],
    staticClients: [
      { id: 'portal', redirectURIs: ['https://portal.example.test/callback'] },
    ],
    staticUsers: [
      {
        email: 'admin@example.test',
        username: 'admin',
        passwordRef: { name: 'users', key: 'admin' },
      },
    ],
  });
}

describe('secrets stay in Secrets', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  /** Everything a user or operator could see: log lines, results, errors, events, status. */
  const seen: { what: string; text: string }[] = [];
  const see = (what: string, value: unknown) =>
    seen.push({
      what,
      text: typeof value === 'string' ? value : JSON.stringify(value),
    });
  const run = async (
    what: string,
    s: PackSpec,
    options: ProvisionOptions = {},
  ): Promise<ProvisionResult | undefined> => {
    try {
      const result = await provisionPack(kc, s, {
        entityRef: 'component:default/payments-api',
        ...options,
        log: line => see(`${what} log`, line),
      });
      // `objects` is documented to carry the rendered Secrets: callers never output it.
      const { objects: _objects, ...rest } = result;
      see(`${what} result`, rest);
      return result;
    } catch (e) {
      see(`${what} error`, `${(e as Error).name}: ${(e as Error).message}`);
      return undefined;
    }
  };

  beforeAll(async () => {
    cluster = await startLocalCluster();
    kc = await adminKubeConfig(cluster);
    await createNamespace(kc, NS);
    await createSecret(kc, NS, 'upstream', {
      github: CONNECTOR_SECRET,
      ldap: LDAP_PASSWORD,
    });
    await createSecret(kc, NS, 'users', { admin: PASSWORD });
  });
  afterAll(() => cluster?.stop());

  it('no log line, result, error, event or status read holds a secret, and no ConfigMap of the pack does', async () => {
    const first = await run('apply', spec());
    expect(
      first?.apply.objects.every(
        o => o.action === 'create' || o.action === 'skip',
      ),
    ).toBe(true);
    await run('re-run', spec());
    await run('dry run', spec(), { dryRun: true });

    // Drift in Dex's config (a hand edit): the dry run and the re-run report it by field name only.
    const k8s = await clientNode();
    const config = YAML.parse(
      secretValue(await readSecret(kc, NS, 'dex-config'), 'config.yaml')!,
    );
    config.expiry.idTokens = '1h';
    await k8s.KubernetesObjectApi.makeApiClient(kc).patch(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'dex-config', namespace: NS },
        data: {
          'config.yaml': Buffer.from(YAML.stringify(config)).toString('base64'),
        },
      } as KubernetesObject,
      undefined,
      undefined,
      'kubectl-edit',
      undefined,
      k8s.PatchStrategy.MergePatch,
    );
    expect(
      (
        await run('dry run with drift', spec(), { dryRun: true })
      )?.apply.objects.find(o => o.name === 'dex-config')?.action,
    ).toBe('update');
    expect(
      (await run('re-run with drift', spec()))?.apply.objects.find(
        o => o.name === 'dex-config',
      )?.action,
    ).toBe('update');

    // Secrets collected before the rotation too: the old keys must not leak either.
    const before = await Promise.all(
      ['dex-ca', 'dex-tls', 'dex-authenticator-tls'].map(n =>
        readSecret(kc, NS, n),
      ),
    );
    expect(
      (
        await run('rotate', spec(), { rotateCertificates: true })
      )?.generated.some(g => g.startsWith('CA')),
    ).toBe(true);
    // Errors: a missing Secret, someone else's object, an unreachable cluster.
    await run('missing secret', {
      ...spec(),
      staticUsers: [
        {
          email: 'b@example.test',
          username: 'b',
          passwordRef: { name: 'users', key: 'nobody' },
        },
      ],
    });
    await createNamespace(kc, 'taken');
    await createSecret(kc, 'taken', 'dex-clients', {
      kubernetes: 'someone-elses',
    });
    await createSecret(kc, 'taken', 'upstream', {
      github: CONNECTOR_SECRET,
      ldap: LDAP_PASSWORD,
    });
    await createSecret(kc, 'taken', 'users', { admin: PASSWORD });
    await run('conflict', spec('taken'));
    expect(seen.find(s => s.what === 'conflict error')?.text).toMatch(
      /do not belong to this installation/,
    );

    // Status, as the backend serves it.
    see(
      'status',
      await readDexStatus({
        clusters: [{ name: 'local', kc }],
        kubernetesId: 'payments-api',
        entityRef: 'component:default/payments-api',
      }),
    );
    // Events in the pack's namespaces (core and events.k8s.io).
    for (const namespace of [NS, 'taken']) {
      see(
        `events ${namespace}`,
        await kc
          .makeApiClient(k8s.CoreV1Api)
          .listNamespacedEvent({ namespace }),
      );
      see(
        `events.k8s.io ${namespace}`,
        await kc
          .makeApiClient(k8s.EventsV1Api)
          .listNamespacedEvent({ namespace }),
      );
    }

    // The needles: every generated client secret, key, connector secret, password and its hash.
    const [clients, dexConfig, ...tls] = await Promise.all(
      [
        'dex-clients',
        'dex-config',
        'dex-ca',
        'dex-tls',
        'dex-authenticator-tls',
      ].map(n => readSecret(kc, NS, n)),
    );
    const clientSecrets = Object.keys(clients.data ?? {}).map(k =>
      secretValue(clients, k)!,
    );
    expect(clientSecrets).toHaveLength(2);
    const hashes = Object.values(
      JSON.parse(secretValue(dexConfig, 'password-hashes.json')!),
    ) as string[];
    expect(hashes).toHaveLength(1);
    expect(hashes[0]).toMatch(/^\$2[aby]\$/);
    const keys = [...before, ...tls].map(s => secretValue(s, 'tls.key')!);
    const needles = [
      ...clientSecrets,
      ...hashes,
      ...keys,
      CONNECTOR_SECRET,
      LDAP_PASSWORD,
      PASSWORD,
      'someone-elses',
    ].flatMap(v => [v, Buffer.from(v).toString('base64')]);
    // A key's PEM body, line by line (a leak of part of a key is a leak).
    const keyLines = keys.flatMap(k =>
      k.split('\n').filter(l => l.length === 64),
    );
    expect(keyLines.length).toBeGreaterThan(20);

    expect(seen.length).toBeGreaterThan(30);
    const leaks = seen.flatMap(({ what, text }) => [
      ...(text.includes('PRIVATE KEY') ? [`${what}: PRIVATE KEY`] : []),
      ...needles
        .filter(n => text.includes(n))
        .map(n => `${what}: ${n.slice(0, 6)}…`),
      ...keyLines
        .filter(l => text.includes(l))
        .map(() => `${what}: a line of a private key`),
    ]);
    expect(leaks).toEqual([]);

    // ConfigMaps of the pack carry no secret either.
    const configMaps = await kc
      .makeApiClient(k8s.CoreV1Api)
      .listConfigMapForAllNamespaces({
        labelSelector: `${LABEL_INSTANCE}=dex`,
      });
    expect(configMaps.items.map(c => c.metadata?.name).sort()).toEqual([
      'dex-apiserver-settings',
      'dex-authenticator',
      'dex-certificates',
    ]);
    const cmText = JSON.stringify(configMaps.items.map(c => c.data));
    expect(cmText).not.toContain('PRIVATE KEY');
    expect(needles.filter(n => cmText.includes(n))).toEqual([]);
    expect(keyLines.filter(l => cmText.includes(l))).toEqual([]);
  });

  it("stores secret inputs in the installation's own Secret, which the spec references; a re-run keeps them, a new value updates them; no value is ever seen", async () => {
    const ns = 'inputs';
    const FORM_CONNECTOR = 'form-gh-secret-5521';
    const FORM_CONNECTOR_NEW = 'form-gh-secret-rotated-7730';
    const FORM_PASSWORD = 'form-password-3318';
    const inputsSpec = packSpec(ns, {
      connectors: [
        {
          type: 'github',
          id: 'github',
          name: 'GitHub',
          clientId: 'gh-app',
          clientSecretRef: { name: 'dex-secret-inputs', key: 'github' },
        },
      ],
      staticUsers: [
        {
          email: 'tester@example.test',
          username: 'tester',
          passwordRef: { name: 'dex-secret-inputs', key: 'tester' },
        },
      ],
    });
    const inputsSeen: string[] = [];
    const go = async (
      secretInputs: Record<string, string> | undefined,
      options: ProvisionOptions = {},
    ) => {
      const result = await provisionPack(kc, inputsSpec, {
        entityRef: 'component:default/payments-api',
        secretInputs,
        ...options,
        log: line => inputsSeen.push(line),
      });
      const { objects: _objects, ...rest } = result;
      inputsSeen.push(JSON.stringify(rest));
      return result;
    };

    // A dry run plans the Secret and writes nothing.
    const plan = await go(
      { github: FORM_CONNECTOR, tester: FORM_PASSWORD },
      { dryRun: true },
    );
    expect(
      plan.apply.objects.find(o => o.name === 'dex-secret-inputs')?.action,
    ).toBe('create');
    const first = await go({ github: FORM_CONNECTOR, tester: FORM_PASSWORD });
    expect(
      first.apply.objects.find(o => o.name === 'dex-secret-inputs')?.action,
    ).toBe('create');
    const stored = await readSecret(kc, ns, 'dex-secret-inputs');
    expect(secretValue(stored, 'github')).toBe(FORM_CONNECTOR);
    expect(secretValue(stored, 'tester')).toBe(FORM_PASSWORD);
    // Owner-annotated and labelled like the rest of the pack.
    expect(stored.metadata?.annotations).toMatchObject({
      'dex.backstage.io/entity-ref': 'component:default/payments-api',
      'dex.backstage.io/instance': 'dex',
    });
    expect(stored.metadata?.labels?.[LABEL_INSTANCE]).toBe('dex');
    // Dex reads the connector secret from it; the password reaches Dex only as a bcrypt hash.
    const k8s = await clientNode();
    const dex = await kc
      .makeApiClient(k8s.AppsV1Api)
      .readNamespacedDeployment({ name: 'dex', namespace: ns });
    expect(
      dex.spec!.template.spec!.containers[0].env!.find(
        e => e.valueFrom?.secretKeyRef?.name === 'dex-secret-inputs',
      )?.valueFrom?.secretKeyRef,
    ).toEqual({ name: 'dex-secret-inputs', key: 'github' });
    const hashes = JSON.parse(
      secretValue(
        await readSecret(kc, ns, 'dex-config'),
        'password-hashes.json',
      )!,
    );
    expect(Object.keys(hashes)).toEqual(['tester@example.test']);

    // A re-run without the values (a task that did not ask again) uses the stored ones: no write.
    expect((await go(undefined)).apply.writes).toBe(0);
    // A new value updates the Secret and rolls Dex (its env changed underneath).
    const checksum = (d: typeof dex) =>
      d.spec!.template.metadata!.annotations![
        'dex.backstage.io/config-checksum'
      ];
    const changed = await go({ github: FORM_CONNECTOR_NEW });
    expect(
      changed.apply.objects
        .filter(o => o.action === 'update')
        .map(o => o.name)
        .sort(),
    ).toEqual(['dex', 'dex-secret-inputs']);
    const after = await readSecret(kc, ns, 'dex-secret-inputs');
    expect(secretValue(after, 'github')).toBe(FORM_CONNECTOR_NEW);
    expect(secretValue(after, 'tester')).toBe(FORM_PASSWORD);
    const rolled = await kc
      .makeApiClient(k8s.AppsV1Api)
      .readNamespacedDeployment({ name: 'dex', namespace: ns });
    expect(checksum(rolled)).not.toBe(checksum(dex));

    // A spec that no longer references them, run without values, leaves the stored Secret as it
    // is (not read, not part of the run): a later spec that references them again finds them.
    const unreferenced = await provisionPack(kc, packSpec(ns), {
      entityRef: 'component:default/payments-api',
      log: line => inputsSeen.push(line),
    });
    expect(unreferenced.objects.map(o => o.metadata.name)).not.toContain(
      'dex-secret-inputs',
    );
    const kept = await readSecret(kc, ns, 'dex-secret-inputs');
    expect(secretValue(kept, 'github')).toBe(FORM_CONNECTOR_NEW);
    expect(kept.metadata?.resourceVersion).toBe(
      after.metadata?.resourceVersion,
    );
    expect(
      (await go(undefined)).apply.objects.find(
        o => o.name === 'dex-secret-inputs',
      )?.action,
    ).toBe('unchanged');

    const text = inputsSeen.join('\n');
    for (const v of [FORM_CONNECTOR, FORM_CONNECTOR_NEW, FORM_PASSWORD])
      for (const needle of [v, Buffer.from(v).toString('base64')])
        expect(text).not.toContain(needle);
  });
});
