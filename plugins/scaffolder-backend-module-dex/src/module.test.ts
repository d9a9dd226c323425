import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  mockCredentials,
  mockServices,
  startTestBackend,
} from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import {
  HangingServer,
  LocalCluster,
  freePort,
  sharedLocalCluster,
  startHangingServer,
} from '@backstage-dex/local-cluster';
import {
  ANNOTATION_OWNER_ENTITY_REF,
  ANNOTATION_OWNER_INSTANCE,
  FIELD_MANAGER,
  LABEL_INSTANCE,
  LABEL_KUBERNETES_ID,
  LABEL_MANAGED_BY,
  LABEL_PART_OF,
  LABEL_VERSION,
  MANAGED_BY,
  PART_OF,
} from '@backstage-dex/plugin-dex-common';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import {
  ScaffolderEndpoint,
  addDexAuthValues,
  TaskRun,
  settleTask,
  submitTask,
} from './testUtils';
import request from 'supertest';
import yaml from 'yaml';
import { mockContext } from './__testUtils__/mockContext';
import {
  PLATFORM_USER,
  authWithActors,
  examplePolicyModule,
  userInfoWithGroups,
} from './__testUtils__/permissions';
import { createDexPackApplyAction } from './actions';
import scaffolderModuleDex from '.';

// A real kube-apiserver and a real scaffolder; certificates are signed in pure JS (slow under jest).
jest.setTimeout(240_000);

const TEMPLATE_PATH = path.resolve(
  __dirname,
  '../../../templates/add-dex-auth/template.yaml',
);
const ENTITIES_PATH = path.resolve(__dirname, '__testUtils__/entities.yaml');
/** A template that hands its values to the action as they are (what the form never asks for). */
const SPEC_TEMPLATE_PATH = path.resolve(
  __dirname,
  '__testUtils__/specTemplate.yaml',
);
/** The bound of every request to a cluster in these tests (dex.apply.requestTimeoutSeconds). */
const REQUEST_TIMEOUT_SECONDS = 3;
/** dex.apply.loadBalancerTimeoutSeconds of the test backend: long enough for the test to answer. */
const LOAD_BALANCER_TIMEOUT_SECONDS = 8;

describe('scaffolder module dex: the Add Dex auth template through the scaffolder REST API, permission framework on', () => {
  let cluster: LocalCluster;
  let hang: HangingServer;
  let kc: KubeConfig;
  let k8s: typeof import('@kubernetes/client-node');
  let backend: Awaited<ReturnType<typeof startTestBackend>>;
  let configData: JsonObject;

  /**
   * Runs a template (Add Dex auth unless named) as `user` (the test backend's default user,
   * user:default/mock, when absent), with the task secrets the form's Secret fields would send.
   */
  async function runTask(
    formValues: JsonObject,
    user?: string,
    {
      template = 'add-dex-auth',
      secrets,
      during,
    }: {
      template?: string;
      secrets?: Record<string, string>;
      /** Called with the task's log so far while it runs (a test playing a controller). */
      during?: (text: string) => Promise<void>;
    } = {},
  ): Promise<TaskRun> {
    const via = restApi(user);
    const id = await submitTask(via, { template, values: formValues, secrets });
    return settleTask(id, [via], { during });
  }

  /** The test backend's REST API as `user` (its default user, user:default/mock, when absent). */
  function restApi(user?: string): ScaffolderEndpoint {
    const { port } = backend.server.address() as AddressInfo;
    return {
      name: 'the test backend',
      fetch: (urlPath, init = {}) =>
        fetch(`http://127.0.0.1:${port}${urlPath}`, {
          ...init,
          headers: {
            ...(user
              ? { authorization: mockCredentials.user.header(user) }
              : {}),
            ...init.headers,
          },
        }),
    };
  }

  const core = () => kc.makeApiClient(k8s.CoreV1Api);
  const objectsApi = () => k8s.KubernetesObjectApi.makeApiClient(kc);

  /** resourceVersion of every object of the kinds the pack creates in a namespace. */
  async function snapshot(namespace: string): Promise<Record<string, string>> {
    const lists = await Promise.all(
      [
        ['v1', 'Secret'],
        ['v1', 'ConfigMap'],
        ['v1', 'Service'],
        ['v1', 'ServiceAccount'],
        ['apps/v1', 'Deployment'],
        ['networking.k8s.io/v1', 'Ingress'],
        ['rbac.authorization.k8s.io/v1', 'Role'],
        ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
      ].map(async ([apiVersion, kind]) => {
        const list = await objectsApi().list(apiVersion, kind, namespace);
        return list.items
          .filter(
            o =>
              o.metadata?.name !== 'kube-root-ca.crt' &&
              o.metadata?.name !== 'default',
          )
          .map(
            o =>
              [
                `${kind}/${o.metadata!.name}`,
                o.metadata!.resourceVersion!,
              ] as const,
          );
      }),
    );
    return Object.fromEntries(lists.flat());
  }

  async function namespaceExists(name: string) {
    return core()
      .readNamespace({ name })
      .then(
        () => true,
        e => (e.code === 404 ? false : Promise.reject(e)),
      );
  }

  async function clientSecret(namespace: string) {
    const s = await core().readNamespacedSecret({
      name: 'dex-clients',
      namespace,
    });
    return {
      value: Buffer.from(s.data!.kubernetes, 'base64').toString(),
      resourceVersion: s.metadata!.resourceVersion,
    };
  }

  async function caCert(namespace: string) {
    return (await core().readNamespacedSecret({ name: 'dex-ca', namespace }))
      .data!['tls.crt'];
  }

  /** Nothing secret in what the scaffolder shows: outputs and logs. */
  async function expectNoSecrets(
    run: { output?: unknown; text?: string; events?: unknown },
    namespace: string,
  ) {
    const { value } = await clientSecret(namespace);
    for (const shown of [
      JSON.stringify(run.output ?? {}),
      JSON.stringify(run.events ?? []),
      run.text ?? '',
    ]) {
      expect(shown).not.toContain(value);
      expect(shown).not.toContain('PRIVATE KEY');
    }
  }

  beforeAll(async () => {
    [cluster, hang] = await Promise.all([
      sharedLocalCluster(),
      startHangingServer(),
    ]);
    k8s = await import('@kubernetes/client-node');
    kc = new k8s.KubeConfig();
    kc.loadFromString(cluster.kubeconfig);
    const caData = Buffer.from(cluster.caPem).toString('base64');
    const closedPort = await freePort();
    configData = {
      kubernetes: {
        clusterLocatorMethods: [
          {
            type: 'config',
            clusters: [
              {
                name: 'local',
                url: cluster.server,
                authProvider: 'serviceAccount',
                serviceAccountToken: cluster.token,
                caData,
              },
              {
                name: 'offline',
                url: `https://127.0.0.1:${closedPort}`,
                authProvider: 'serviceAccount',
                serviceAccountToken: cluster.token,
                caData,
              },
              // Accepts connections and never answers.
              {
                name: 'hanging',
                url: `https://127.0.0.1:${hang.port}`,
                authProvider: 'serviceAccount',
                serviceAccountToken: 't',
                caData,
              },
            ],
          },
        ],
      },
      catalog: {
        locations: [
          {
            type: 'file',
            target: TEMPLATE_PATH,
            rules: [{ allow: ['Template'] }],
          },
          {
            type: 'file',
            target: SPEC_TEMPLATE_PATH,
            rules: [{ allow: ['Template'] }],
          },
          { type: 'file', target: ENTITIES_PATH },
        ],
      },
      permission: { enabled: true },
      dex: {
        versions: { allowed: ['2.45.1', '2.44.0'], default: '2.45.1' },
        apply: {
          requestTimeoutSeconds: REQUEST_TIMEOUT_SECONDS,
          loadBalancerTimeoutSeconds: LOAD_BALANCER_TIMEOUT_SECONDS,
        },
        defaults: { ingressClassName: 'internal' },
        // The platform policy: one Ingress class everywhere; on "local", team namespaces only.
        policy: { ingressClasses: ['internal'] },
        clusters: { local: { policy: { namespaces: ['team-*'] } } },
      },
    };
    backend = await startTestBackend({
      features: [
        import('@backstage/plugin-scaffolder-backend'),
        import('@backstage/plugin-catalog-backend'),
        import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
        import('@backstage/plugin-permission-backend'),
        examplePolicyModule,
        userInfoWithGroups,
        authWithActors,
        scaffolderModuleDex,
        mockServices.rootConfig.factory({ data: configData }),
      ],
    });
    // The catalog reads the template and the entities from their file locations in the background.
    for (const ref of [
      'template/default/add-dex-auth',
      'template/default/dex-spec',
      'component/default/payments-api',
      'component/default/billing',
    ]) {
      for (const deadline = Date.now() + 60_000; ;) {
        const res = await request(backend.server).get(
          `/api/catalog/entities/by-name/${ref}`,
        );
        if (res.status === 200) break;
        if (Date.now() > deadline)
          throw new Error(
            `the catalog did not load ${ref}: ${res.status} ${JSON.stringify(res.body)}`,
          );
        await new Promise(r => setTimeout(r, 250));
      }
    }
  });

  afterAll(async () => {
    await backend?.stop();
    hang?.close();
  });

  it('(a) installs the whole pack, labelled, and outputs the issuer and API-server settings', async () => {
    const run = await runTask(addDexAuthValues('team-a'));
    expect({
      status: run.status,
      log: run.status === 'completed' ? '' : run.text,
    }).toEqual({ status: 'completed', log: '' });

    expect(run.output.links).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          url: 'https://dex.team-a.example.test/.well-known/openid-configuration',
        }),
        expect.objectContaining({ url: 'https://login.team-a.example.test' }),
        expect.objectContaining({
          entityRef: 'component:default/payments-api',
        }),
      ]),
    );
    const text = JSON.stringify(run.output.text);
    expect(text).toContain('--oidc-issuer-url=https://dex.team-a.example.test');
    expect(text).toContain('kind: AuthenticationConfiguration');
    // report mode (no dex.clusters entry): the settings are the user's to apply.
    expect(text).toContain(
      'To do by hand: give kube-apiserver the flags below',
    );

    // Every object of the plan exists, with the labels of DESIGN.md.
    const created = run.text.match(/\bcreate \w+\/team-a\/[\w-]+/g) ?? [];
    expect(created.length).toBeGreaterThan(10);
    expect(run.text).toMatch(/Applied the Dex pack: \d+ created, 0 updated/);
    const snap = await snapshot('team-a');
    for (const kind of [
      'Secret/dex-ca',
      'Secret/dex-clients',
      'Deployment/dex',
      'Deployment/dex-authenticator',
      'Ingress/dex',
      'ConfigMap/dex-apiserver-settings',
    ]) {
      expect(snap).toHaveProperty([kind]);
    }
    for (const [key] of Object.entries(snap)) {
      const [kind, name] = key.split('/');
      const apiVersion =
        {
          Deployment: 'apps/v1',
          Ingress: 'networking.k8s.io/v1',
          Role: 'rbac.authorization.k8s.io/v1',
          RoleBinding: 'rbac.authorization.k8s.io/v1',
        }[kind] ?? 'v1';
      const o: KubernetesObject = await objectsApi().read({
        apiVersion,
        kind,
        metadata: { name, namespace: 'team-a' },
      });
      expect({ key, labels: o.metadata!.labels }).toEqual({
        key,
        labels: expect.objectContaining({
          [LABEL_MANAGED_BY]: MANAGED_BY,
          [LABEL_PART_OF]: PART_OF,
          [LABEL_INSTANCE]: 'dex',
          [LABEL_VERSION]: expect.stringMatching(/^\d+\.\d+\.\d+$/),
          [LABEL_KUBERNETES_ID]: 'payments-api',
        }),
      });
      expect(o.metadata!.managedFields!.map(f => f.manager)).toContain(
        FIELD_MANAGER,
      );
      // Whose it is: the full entity ref and the instance.
      expect({ key, annotations: o.metadata!.annotations }).toEqual({
        key,
        annotations: expect.objectContaining({
          [ANNOTATION_OWNER_ENTITY_REF]: 'component:default/payments-api',
          [ANNOTATION_OWNER_INSTANCE]: 'dex',
        }),
      });
    }
    // The kubeconfig the authenticator hands out points at the configured cluster and trusts its CA.
    const authenticator = await objectsApi().read({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dex-authenticator', namespace: 'team-a' },
    });
    const clusterEntry = yaml.parse((authenticator as any).data['config.yaml'])
      .clusters[0];
    expect({
      uri: clusterEntry.k8s_master_uri,
      ca: clusterEntry.k8s_ca_pem,
    }).toEqual({ uri: cluster.server, ca: cluster.caPem });
    await expectNoSecrets(run, 'team-a');
  });

  it('(b) changes nothing on a second run; rotateCertificates renews the certificates and keeps the client secret', async () => {
    const before = await snapshot('team-a');
    const ca = await caCert('team-a');
    const again = await runTask(addDexAuthValues('team-a'));
    expect(again.status).toBe('completed');
    expect(again.text).toMatch(
      /0 created, 0 updated, \d+ unchanged.*\(0 writes\)/,
    );
    expect(await snapshot('team-a')).toEqual(before);
    expect(await caCert('team-a')).toBe(ca);

    const secretBefore = await clientSecret('team-a');
    const rotated = await runTask(
      addDexAuthValues('team-a', { rotateCertificates: true }),
    );
    expect(rotated.status).toBe('completed');
    expect(await caCert('team-a')).not.toBe(ca);
    const after = await snapshot('team-a');
    for (const name of [
      'Secret/dex-ca',
      'Secret/dex-tls',
      'Secret/dex-authenticator-tls',
    ]) {
      expect(after[name]).not.toBe(before[name]);
    }
    expect(await clientSecret('team-a')).toEqual(secretBefore);
    // The new CA reaches the API-server settings the output shows.
    const newCaLine = Buffer.from(await caCert('team-a'), 'base64')
      .toString()
      .split(/\r?\n/)[1];
    expect(JSON.stringify(rotated.output.text)).toContain(newCaLine);
    await expectNoSecrets(rotated, 'team-a');
  });

  it('(c) a dry run applies nothing and reports the plan', async () => {
    const template = yaml.parse(fs.readFileSync(TEMPLATE_PATH, 'utf8'));
    const dryRun = async (formValues: JsonObject) => {
      const res = await request(backend.server)
        .post('/api/scaffolder/v2/dry-run')
        .send({ template, values: formValues, directoryContents: [] });
      expect(res.status).toBe(200);
      return {
        ...res.body,
        text: (res.body.log as { body: { message: string } }[])
          .map(l => l.body.message)
          .join('\n'),
      };
    };

    // A new installation: the namespace is not even created.
    const fresh = await dryRun(addDexAuthValues('team-dry'));
    expect(fresh.text).toContain('Dry run: nothing was applied');
    expect(fresh.text).toMatch(/create Deployment team-dry\/dex\b/);
    expect(fresh.text).toMatch(/create Secret team-dry\/dex-clients/);
    expect(await namespaceExists('team-dry')).toBe(false);
    // The plan, structured, as the form's Plan page reads it from the dry run's output.
    expect(fresh.output.plan).toMatchObject({
      dryRun: true,
      change: [],
      pendingLoadBalancers: [],
    });
    // Only Dex's CRDs, shared with the installations before this one, exist already.
    const unchanged: string[] = fresh.output.plan.unchanged;
    expect(
      unchanged.filter(o => !o.startsWith('CustomResourceDefinition ')),
    ).toEqual([]);
    expect(fresh.output.plan.create).toEqual(
      expect.arrayContaining([
        'Namespace team-dry',
        'Deployment team-dry/dex',
        'Secret team-dry/dex-clients',
      ]),
    );
    expect(fresh.output.plan.summary).toBe(
      `${fresh.output.plan.create.length} to create, 0 to change, ${unchanged.length} unchanged`,
    );

    // An upgrade of an existing one: the plan names the fields that would change; nothing changes.
    const before = await snapshot('team-a');
    const upgrade = await dryRun(
      addDexAuthValues('team-a', { version: '2.44.0' }),
    );
    expect(upgrade.text).toMatch(
      /update Deployment team-a\/dex \(.*spec\.template.*\)/,
    );
    expect(upgrade.text).toMatch(
      /unchanged Deployment team-a\/dex-authenticator\b/,
    );
    expect(upgrade.output.plan.change).toEqual(
      expect.arrayContaining([
        {
          object: 'Deployment team-a/dex',
          fields: expect.arrayContaining([
            expect.stringMatching(/^spec\.template/),
          ]),
        },
      ]),
    );
    expect(upgrade.output.plan.unchanged).toContain(
      'Deployment team-a/dex-authenticator',
    );
    expect(await snapshot('team-a')).toEqual(before);
    expect(JSON.stringify(upgrade)).not.toContain(
      (await clientSecret('team-a')).value,
    );
    expect(JSON.stringify(upgrade)).not.toContain('PRIVATE KEY');
  });

  it('(j) on LoadBalancers without URLs: the task waits, with progress in its log, for the addresses the cloud writes and derives the URLs', async () => {
    const ns = 'team-lb';
    const assigned = new Set<string>();
    // The test is the cloud controller: it writes the Service's status once the task waits for it.
    const answer: Record<string, object[]> = {
      dex: [{ ip: '203.0.113.30' }],
      'dex-authenticator': [{ hostname: 'login.team-lb.lb.example.net' }],
    };
    const run = await runTask(
      addDexAuthValues(ns, {
        dexExposure: { serviceType: 'LoadBalancer' },
        authenticatorExposure: { serviceType: 'LoadBalancer' },
      }),
      undefined,
      {
        during: async text => {
          for (const m of text.matchAll(
            /waiting for LoadBalancer address of team-lb\/(\S+) \(\d+ s\)/g,
          )) {
            const name = m[1];
            if (assigned.has(name)) continue;
            assigned.add(name);
            const service = await core().readNamespacedService({
              name,
              namespace: ns,
            });
            service.status = { loadBalancer: { ingress: answer[name] } };
            await core().replaceNamespacedServiceStatus({
              name,
              namespace: ns,
              body: service,
            });
          }
        },
      },
    );
    expect({
      status: run.status,
      log: run.status === 'completed' ? '' : run.text,
    }).toEqual({ status: 'completed', log: '' });
    expect(assigned).toEqual(new Set(['dex', 'dex-authenticator']));
    const links = (run.output.links as { url?: string }[]).map(l => l.url);
    expect(links).toEqual(
      expect.arrayContaining([
        'https://203.0.113.30:5556/dex/.well-known/openid-configuration',
        'https://login.team-lb.lb.example.net:5555',
      ]),
    );
    expect(run.text).toContain(
      'Issuer URL from the LoadBalancer: https://203.0.113.30:5556/dex',
    );
    expect(JSON.stringify(run.output.text)).toContain(
      '--oidc-issuer-url=https://203.0.113.30:5556/dex',
    );
    await expectNoSecrets(run, ns);
  });

  it('(j) fails after dex.apply.loadBalancerTimeoutSeconds when no address comes, naming the Service and what to do', async () => {
    const ns = 'team-lb-none';
    const run = await runTask(
      addDexAuthValues(ns, {
        dexExposure: { serviceType: 'LoadBalancer' },
        authenticatorExposure: {
          serviceType: 'ClusterIP',
          ingress: { enabled: true, host: `login.${ns}.example.test` },
        },
      }),
    );
    expect(run.status).toBe('failed');
    expect(run.text).toMatch(
      /waiting for LoadBalancer address of team-lb-none\/dex \(0 s\)/,
    );
    expect(run.text).toContain(
      `Service team-lb-none/dex got no LoadBalancer address within ${LOAD_BALANCER_TIMEOUT_SECONDS} s`,
    );
    expect(run.text).toMatch(
      /give the URL yourself \(dex\.issuerUrl, authenticator\.url\).*Ingress.*LoadBalancer controller/,
    );
    // Only the namespace and the Service: no certificate, no config, no Deployment.
    expect(Object.keys(await snapshot(ns))).toEqual(['Service/dex']);
  });

  it("(d) refuses to take over another field manager's object unless force is set by a user allowed to take over", async () => {
    await core().createNamespace({ body: { metadata: { name: 'team-d' } } });
    await core().createNamespacedConfigMap({
      namespace: 'team-d',
      body: {
        metadata: { name: 'dex-apiserver-settings' },
        data: { owner: 'someone else' },
      },
      fieldManager: 'someone-else',
    });
    const before = await snapshot('team-d');

    const refused = await runTask(addDexAuthValues('team-d'));
    expect(refused.status).toBe('failed');
    expect(refused.text).toContain(
      'ConfigMap/team-d/dex-apiserver-settings (managed by someone-else)',
    );
    expect(refused.text).toContain('force: true');
    expect(await snapshot('team-d')).toEqual(before);

    // The entity's owner asks to take over, without dex.pack.takeover.
    const notAllowed = await runTask(
      addDexAuthValues('team-d', { force: true }),
    );
    expect(notAllowed.status).toBe('failed');
    expect(notAllowed.text).toContain(
      'Not allowed to take over objects of another owner for component:default/payments-api (permission dex.pack.takeover); nothing was applied',
    );
    expect(await snapshot('team-d')).toEqual(before);

    // The platform group may.
    const forced = await runTask(
      addDexAuthValues('team-d', { force: true }),
      PLATFORM_USER,
    );
    expect({
      status: forced.status,
      log: forced.status === 'completed' ? '' : forced.text,
    }).toEqual({ status: 'completed', log: '' });
    const cm = await core().readNamespacedConfigMap({
      name: 'dex-apiserver-settings',
      namespace: 'team-d',
    });
    expect(cm.metadata!.labels![LABEL_MANAGED_BY]).toBe(MANAGED_BY);
    expect(cm.metadata!.annotations![ANNOTATION_OWNER_ENTITY_REF]).toBe(
      'component:default/payments-api',
    );
    expect(cm.metadata!.managedFields!.map(f => f.manager)).toContain(
      FIELD_MANAGER,
    );
  });

  it("(f) refuses to install for another user's entity, writing nothing", async () => {
    const run = await runTask(
      addDexAuthValues('team-f', { entity: 'component:default/billing' }),
    );
    expect(run.status).toBe('failed');
    expect(run.text).toContain(
      'Not allowed to install Dex for component:default/billing (permission dex.pack.apply); nothing was applied',
    );
    expect(await namespaceExists('team-f')).toBe(false);
    // Its owner may.
    const owners = await runTask(
      addDexAuthValues('team-f', { entity: 'component:default/billing' }),
      'user:default/alice',
    );
    expect({
      status: owners.status,
      log: owners.status === 'completed' ? '' : owners.text,
    }).toEqual({ status: 'completed', log: '' });
  });

  it("(g) refuses to update another entity's installation, even for a user allowed both, unless taken over", async () => {
    // team-a/dex belongs to payments-api (test a); alice owns billing and aims at the same namespace and instance.
    const before = await snapshot('team-a');
    const run = await runTask(
      addDexAuthValues('team-a', { entity: 'component:default/billing' }),
      'user:default/alice',
    );
    expect(run.status).toBe('failed');
    expect(run.text).toMatch(
      /do not belong to this installation \(component:default\/billing, instance "dex"\): .*Deployment\/team-a\/dex \(belongs to component:default\/payments-api, instance "dex"\)/,
    );
    expect(run.text).toContain('Nothing was applied');
    expect(await snapshot('team-a')).toEqual(before);

    // Another instance in the same namespace is a separate installation: it installs beside it.
    const beside = await runTask(
      addDexAuthValues('team-a', {
        entity: 'component:default/billing',
        instance: 'billing-dex',
        dexExposure: {
          serviceType: 'ClusterIP',
          ingress: { enabled: true, host: 'billing-dex.team-a.example.test' },
        },
        authenticatorExposure: {
          serviceType: 'ClusterIP',
          ingress: {
            enabled: true,
            host: 'billing-login.team-a.example.test',
          },
        },
      }),
      'user:default/alice',
    );
    expect({
      status: beside.status,
      log: beside.status === 'completed' ? '' : beside.text,
    }).toEqual({ status: 'completed', log: '' });
    const after = await snapshot('team-a');
    for (const [key, version] of Object.entries(before))
      expect({ key, version: after[key] }).toEqual({ key, version });
  });

  it('(h) a cluster that accepts connections and never answers fails the run within the bound, naming the cluster', async () => {
    const started = Date.now();
    const run = await runTask(
      addDexAuthValues('team-h', { cluster: 'hanging' }),
    );
    const elapsed = Date.now() - started;
    expect(run.status).toBe('failed');
    expect(run.text).toMatch(
      new RegExp(
        `Cluster "hanging" \\(https://127\\.0\\.0\\.1:${hang.port}\\) did not answer within ${REQUEST_TIMEOUT_SECONDS * 1000} ms`,
      ),
    );
    // Without the bound the run would still be pending at jest's timeout; the slack is for a loaded machine.
    expect(elapsed).toBeLessThan(REQUEST_TIMEOUT_SECONDS * 1000 + 30_000);
  });

  it('(i) a 422 on one object after the Secrets were written is reported with what was and was not written; the re-run converges', async () => {
    const admission = 'admissionregistration.k8s.io/v1';
    const policy = {
      apiVersion: admission,
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'refuse-dex-deployment' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['apps'],
              apiVersions: ['v1'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['deployments'],
            },
          ],
        },
        validations: [
          {
            expression: "object.metadata.name != 'dex'",
            message: 'refused by the test policy',
            reason: 'Invalid',
          },
        ],
      },
    };
    const binding = {
      apiVersion: admission,
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'refuse-dex-deployment' },
      spec: {
        policyName: 'refuse-dex-deployment',
        validationActions: ['Deny'],
        matchResources: {
          namespaceSelector: {
            matchLabels: { 'kubernetes.io/metadata.name': 'team-i' },
          },
        },
      },
    };
    await objectsApi().create(policy);
    await objectsApi().create(binding);
    // The policy takes effect once the apiserver has loaded it: probe with a dry run until it refuses.
    await core().createNamespace({ body: { metadata: { name: 'team-i' } } });
    const probe = () =>
      objectsApi()
        .create(
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'dex', namespace: 'team-i' },
            spec: {
              selector: { matchLabels: { a: 'b' } },
              template: {
                metadata: { labels: { a: 'b' } },
                spec: { containers: [{ name: 'c', image: 'i' }] },
              },
            },
          } as KubernetesObject,
          undefined,
          'All',
        )
        .then(
          () => 200,
          (e: { code?: number }) => e.code ?? 0,
        );
    for (const deadline = Date.now() + 30_000; (await probe()) !== 422;) {
      if (Date.now() > deadline)
        throw new Error('the admission policy did not take effect');
      await new Promise(r => setTimeout(r, 200));
    }

    const failed = await runTask(addDexAuthValues('team-i'));
    expect(failed.status).toBe('failed');
    expect(failed.text).toMatch(
      /applying Deployment\/team-i\/dex: the apiserver refused the object \(422\)/,
    );
    const written =
      /Written: ([^.]*)\./.exec(failed.text)?.[1].split(', ') ?? [];
    const notWritten =
      /Not written: ([^.]*)\./.exec(failed.text)?.[1].split(', ') ?? [];
    expect(written).toEqual(
      expect.arrayContaining([
        'Secret/team-i/dex-ca',
        'Secret/team-i/dex-clients',
        'Deployment/team-i/dex-authenticator',
      ]),
    );
    expect(notWritten).toEqual(['Deployment/team-i/dex']);
    // The report matches the cluster.
    const snap = await snapshot('team-i');
    for (const [kind, , name] of written
      .map(k => k.split('/'))
      .filter(parts => parts.length === 3))
      expect(snap).toHaveProperty([`${kind}/${name}`]);
    expect(snap).not.toHaveProperty(['Deployment/dex']);
    await expectNoSecrets(failed, 'team-i');

    await objectsApi().delete(binding);
    for (const deadline = Date.now() + 30_000; (await probe()) !== 200;) {
      if (Date.now() > deadline)
        throw new Error('the admission policy did not go away');
      await new Promise(r => setTimeout(r, 200));
    }
    await objectsApi().delete(policy);
    const ca = await caCert('team-i');
    const rerun = await runTask(addDexAuthValues('team-i'));
    expect({
      status: rerun.status,
      log: rerun.status === 'completed' ? '' : rerun.text,
    }).toEqual({ status: 'completed', log: '' });
    expect(rerun.text).toMatch(/Applied the Dex pack: 1 created, 0 updated/);
    // What the failed run wrote was kept: same CA, no rotation.
    expect(await caCert('team-i')).toBe(ca);
    const again = await runTask(addDexAuthValues('team-i'));
    expect(again.text).toMatch(
      /0 created, 0 updated, \d+ unchanged.*\(0 writes\)/,
    );
  });

  it('(e) fails clearly, applying nothing, on an unknown cluster, a disallowed version or an unreachable cluster', async () => {
    const cases: [JsonObject, RegExp][] = [
      [
        addDexAuthValues('team-e1', { cluster: 'nowhere' }),
        /Unknown cluster "nowhere"; configured clusters: local, offline, hanging/,
      ],
      [
        addDexAuthValues('team-e2', { version: '2.43.1' }),
        /dex\.version: Dex version 2\.43\.1 is not allowed by the platform .*allowed: 2\.45\.1, 2\.44\.0/,
      ],
      [
        addDexAuthValues('team-e3', { cluster: 'offline' }),
        /the cluster is unreachable \(ECONNREFUSED\)/,
      ],
    ];
    for (const [formValues, message] of cases) {
      const run = await runTask(formValues);
      expect({ status: run.status, text: run.text }).toEqual({
        status: 'failed',
        text: expect.stringMatching(message),
      });
      expect(await namespaceExists(String(formValues.namespace))).toBe(false);
    }
  });

  it('(e) rejects an invalid host in the form, and in the action input', async () => {
    const res = await request(backend.server)
      .post('/api/scaffolder/v2/tasks')
      .send({
        templateRef: 'template:default/add-dex-auth',
        values: addDexAuthValues('team-e4', {
          dexExposure: {
            serviceType: 'ClusterIP',
            ingress: { enabled: true, host: 'https://dex.example.test/' },
          },
        }),
      });
    expect(res.status).toBe(400);
    // The Ingress branch with the host's pattern is the one the value fails.
    expect(res.body.errors[0].path).toEqual(['dexExposure', 'ingress']);
    expect(JSON.stringify(res.body.errors[0].schema)).toContain('Dex host');

    const action = createDexPackApplyAction({
      config: new ConfigReader(configData),
      permissions: mockServices.permissions(),
    });
    const run = await mockContext({
      input: {
        cluster: 'local',
        entityRef: 'component:default/payments-api',
        namespace: 'team-e4',
        dex: {
          exposure: { ingress: { enabled: true, hosts: ['dex_example!'] } },
        },
      },
    });
    await expect(action.handler(run.ctx)).rejects.toThrow(
      /dex\.exposure\.ingress\.hosts\[0\]: "dex_example!" is not a valid host name/,
    );
    expect(await namespaceExists('team-e4')).toBe(false);
  });

  it('does not redo a finished apply when a recovered task replays the step (checkpoint)', async () => {
    const input = {
      cluster: 'local',
      namespace: 'team-a',
      entityRef: 'component:default/payments-api',
      dex: {
        exposure: {
          ingress: { enabled: true, hosts: ['dex.team-a.example.test'] },
        },
      },
      authenticator: {
        exposure: {
          ingress: { enabled: true, hosts: ['login.team-a.example.test'] },
        },
      },
    };
    const first = await mockContext({ input });
    await createDexPackApplyAction({
      config: new ConfigReader(configData),
      permissions: mockServices.permissions(),
    }).handler(first.ctx);
    expect(first.checkpoints.size).toBe(1);
    const stored = JSON.stringify([...first.checkpoints.values()]);
    expect(stored).not.toContain('PRIVATE KEY');
    expect(stored).not.toContain((await clientSecret('team-a')).value);

    // The same step again, with the cluster now unreachable: the checkpoint answers.
    const offline = new ConfigReader({
      ...configData,
      kubernetes: {
        clusterLocatorMethods: [
          {
            type: 'config',
            clusters: [
              {
                name: 'local',
                url: 'https://127.0.0.1:1',
                authProvider: 'serviceAccount',
                serviceAccountToken: 't',
              },
            ],
          },
        ],
      },
    });
    const replay = await mockContext({ input, checkpoints: first.checkpoints });
    await createDexPackApplyAction({
      config: offline,
      permissions: mockServices.permissions(),
    }).handler(replay.ctx);
    expect(replay.outputs).toEqual(first.outputs);
  });

  it('(p) refuses what the platform policy and the checks do not allow, naming what to change, and writes nothing', async () => {
    const FOREIGN = 'app-db-password-6620';
    await core().createNamespace({ body: { metadata: { name: 'team-p' } } });
    // A Secret of the namespace that the platform did not mark usable by Dex packs.
    await core().createNamespacedSecret({
      namespace: 'team-p',
      body: {
        metadata: { name: 'app-database' },
        stringData: { password: FOREIGN },
      },
    });
    const before = {
      teamP: await snapshot('team-p'),
      kubeSystem: await snapshot('kube-system'),
    };
    const INJECTED = '\n--authorization-mode=AlwaysAllow';
    type Case = [string, JsonObject, string, RegExp];
    const form = (extra: JsonObject): [JsonObject, string] => [
      addDexAuthValues('team-p', extra),
      'add-dex-auth',
    ];
    const spec = (extra: JsonObject): [JsonObject, string] => [
      {
        cluster: 'local',
        namespace: 'team-p',
        entityRef: 'component:default/payments-api',
        ...extra,
      },
      'dex-spec',
    ];
    const ingressWith = (annotations: JsonObject) => ({
      dex: {
        exposure: {
          ingress: {
            enabled: true,
            hosts: ['dex.team-p.example.test'],
            annotations,
          },
        },
      },
    });
    const cases: Case[] = [
      [
        'namespace kube-system',
        addDexAuthValues('kube-system'),
        'add-dex-auth',
        /namespace: "kube-system" is one of the cluster's own namespaces .*listing "kube-system" exactly in dex\.policy\.namespaces \(or dex\.clusters\.local\.policy\.namespaces\)/,
      ],
      [
        "a namespace outside the cluster's patterns",
        addDexAuthValues('prod'),
        'add-dex-auth',
        /namespace: namespace "prod" is not allowed by the platform on cluster "local": choose one matching "team-\*"/,
      ],
      [
        'an Ingress class the platform does not allow',
        ...form({
          dexExposure: {
            serviceType: 'ClusterIP',
            ingress: {
              enabled: true,
              host: 'dex.team-p.example.test',
              className: 'public',
            },
          },
        }),
        /dex\.exposure\.ingress\.className: Ingress class "public" is not allowed by the platform: use one of internal \(dex\.policy\.ingressClasses/,
      ],
      [
        "a first run without the test user's password (a Secret field left empty)",
        ...form({
          testUser: {
            enabled: true,
            email: 'tester@example.test',
            username: 'tester',
          },
        }),
        /staticUsers\[0\]\.passwordRef: the secret input "test-user-password" was not given \(secretInputs\.test-user-password\) and is not stored in Secret team-p\/dex-secret-inputs; give it in the form/,
      ],
      [
        'an issuer URL carrying a second apiserver flag',
        ...spec({
          dex: {
            issuerUrl: `https://dex.team-p.example.test${INJECTED}`,
            exposure: {
              ingress: { enabled: true, hosts: ['dex.team-p.example.test'] },
            },
          },
        }),
        /dex\.issuerUrl: .*contains whitespace or control characters; remove them/,
      ],
      [
        'a server-snippet annotation',
        ...spec(
          ingressWith({
            'nginx.ingress.kubernetes.io/server-snippet': 'return 200;',
          }),
        ),
        /annotations\["nginx\.ingress\.kubernetes\.io\/server-snippet"\]: .*run configuration or change authentication .*listing .* exactly in dex\.policy\.ingressAnnotations/,
      ],
      [
        'an auth-url annotation',
        ...spec(
          ingressWith({
            'nginx.ingress.kubernetes.io/auth-url': 'https://evil.example.test',
          }),
        ),
        /auth-url.*run configuration or change authentication/,
      ],
      [
        'an image registry in the input',
        ...spec({ imageRegistry: 'evil.example.test' }),
        /imageRegistry: the image registry is chosen by the platform, not in the spec: remove imageRegistry/,
      ],
      [
        'an empty groups prefix',
        ...spec({ claims: { groupsPrefix: '' } }),
        /claims\.groupsPrefix: an empty groups prefix .*dex\.policy\.allowEmptyClaimPrefixes/,
      ],
      [
        'a system: groups prefix',
        ...spec({ claims: { groupsPrefix: 'system:' } }),
        /claims\.groupsPrefix: "system:" starts with system:/,
      ],
      [
        'an apiServerCaFile carrying a second apiserver flag',
        ...spec({
          apiServerCaFile: `/etc/kubernetes/pki/dex-ca.crt${INJECTED}`,
        }),
        /apiServerCaFile: .*contains whitespace or control characters/,
      ],
      [
        'a username claim carrying a flag after a space',
        ...spec({
          claims: { usernameClaim: 'email --oidc-username-claim=sub' },
        }),
        /claims\.usernameClaim: .*is not a claim name/,
      ],
      [
        'a redirect URI with a line break',
        ...spec({
          staticClients: [
            {
              id: 'app',
              redirectURIs: [`https://app.example.test/cb${INJECTED}`],
            },
          ],
        }),
        /staticClients\[0\]\.redirectURIs\[0\]: .*contains whitespace or control characters/,
      ],
      [
        'a connector secretRef naming a Secret the platform did not mark usable',
        ...spec({
          connectors: [
            {
              type: 'oidc',
              issuer: 'https://evil.example.test',
              clientId: 'dex',
              clientSecretRef: { name: 'app-database', key: 'password' },
            },
          ],
        }),
        /connectors\[0\]\.clientSecretRef: Secret team-p\/app-database is not one the platform marked usable by Dex packs \(label dex\.backstage\.io\/usable-by-packs=true\) .*give the value in the form instead[\s\S]*Nothing was applied/,
      ],
    ];
    for (const [name, formValues, template, message] of cases) {
      const run = await runTask(formValues, undefined, { template });
      expect({ name, status: run.status, text: run.text }).toEqual({
        name,
        status: 'failed',
        text: expect.stringMatching(message),
      });
      expect(run.text).not.toContain(FOREIGN);
      expect({ name, written: await snapshot('team-p') }).toEqual({
        name,
        written: before.teamP,
      });
    }
    expect(await snapshot('kube-system')).toEqual(before.kubeSystem);
    expect(await namespaceExists('prod')).toBe(false);
  });

  it("(s) takes the connector's and the test user's secrets from the form's Secret fields into the installation's Secret, and shows them nowhere", async () => {
    const BIND = 'form-bind-password-40417';
    const BIND_NEW = 'form-bind-password-rotated-5150';
    const USER_PASSWORD = 'form-user-password-82231';
    const masked = (v: string) => '*'.repeat(v.length);
    // What the browser sends: the Secret fields' values as task secrets; stars in the parameters.
    const formValues = addDexAuthValues('team-s', {
      connector: {
        type: 'ldap',
        host: 'ldap.team-s.example.test:636',
        bindDN: 'cn=dex,dc=example,dc=test',
        bindPassword: masked(BIND),
        userBaseDN: 'ou=people,dc=example,dc=test',
      },
      testUser: {
        enabled: true,
        email: 'tester@example.test',
        username: 'tester',
        password: masked(USER_PASSWORD),
      },
    });
    const run = await runTask(formValues, undefined, {
      secrets: { bindPassword: BIND, password: USER_PASSWORD },
    });
    expect({
      status: run.status,
      log: run.status === 'completed' ? '' : run.text,
    }).toEqual({ status: 'completed', log: '' });

    const decoded = (s: { data?: Record<string, string> }, key: string) =>
      Buffer.from(s.data![key], 'base64').toString();
    const stored = await core().readNamespacedSecret({
      name: 'dex-secret-inputs',
      namespace: 'team-s',
    });
    expect(decoded(stored, 'ldap-bind-password')).toBe(BIND);
    expect(decoded(stored, 'test-user-password')).toBe(USER_PASSWORD);
    expect(stored.metadata!.annotations).toMatchObject({
      [ANNOTATION_OWNER_ENTITY_REF]: 'component:default/payments-api',
      [ANNOTATION_OWNER_INSTANCE]: 'dex',
    });
    expect(stored.metadata!.labels![LABEL_MANAGED_BY]).toBe(MANAGED_BY);
    // Dex reads the bind password from it; the test user's password reaches Dex as a bcrypt hash only.
    const dex = await kc
      .makeApiClient(k8s.AppsV1Api)
      .readNamespacedDeployment({ name: 'dex', namespace: 'team-s' });
    expect(
      dex.spec!.template.spec!.containers[0].env!.map(
        e => e.valueFrom?.secretKeyRef,
      ),
    ).toContainEqual({ name: 'dex-secret-inputs', key: 'ldap-bind-password' });
    const config = await core().readNamespacedSecret({
      name: 'dex-config',
      namespace: 'team-s',
    });
    const hashes = JSON.parse(decoded(config, 'password-hashes.json'));
    expect(hashes['tester@example.test']).toMatch(/^\$2[aby]\$/);

    // Not in the task's log, events or output, nor in the task as the scaffolder keeps and serves it.
    const needles = [BIND, BIND_NEW, USER_PASSWORD].flatMap(v => [
      v,
      Buffer.from(v).toString('base64'),
    ]);
    const expectNowhere = async (task: TaskRun) => {
      const kept = await request(backend.server).get(
        `/api/scaffolder/v2/tasks/${task.id}`,
      );
      expect(kept.status).toBe(200);
      // The parameters as stored: the stars the form left, and the template's ${{ secrets.x }}.
      expect(JSON.stringify(kept.body)).toContain(
        '${{ secrets.bindPassword }}',
      );
      const list = await request(backend.server).get(
        '/api/scaffolder/v2/tasks',
      );
      for (const [what, text] of [
        ['log and events', JSON.stringify(task.events)],
        ['output', JSON.stringify(task.output)],
        ['stored task', JSON.stringify(kept.body)],
        ['task list', JSON.stringify(list.body)],
      ]) {
        expect({ what, leaks: needles.filter(n => text.includes(n)) }).toEqual({
          what,
          leaks: [],
        });
      }
    };
    await expectNowhere(run);

    // A new bind password from the form updates the Secret (and rolls Dex); the other input stays.
    const again = await runTask(formValues, undefined, {
      secrets: { bindPassword: BIND_NEW, password: USER_PASSWORD },
    });
    expect({
      status: again.status,
      log: again.status === 'completed' ? '' : again.text,
    }).toEqual({ status: 'completed', log: '' });
    expect(again.text).toMatch(/update Secret\/team-s\/dex-secret-inputs/);
    const updated = await core().readNamespacedSecret({
      name: 'dex-secret-inputs',
      namespace: 'team-s',
    });
    expect(decoded(updated, 'ldap-bind-password')).toBe(BIND_NEW);
    expect(decoded(updated, 'test-user-password')).toBe(USER_PASSWORD);
    await expectNowhere(again);
  });
});
