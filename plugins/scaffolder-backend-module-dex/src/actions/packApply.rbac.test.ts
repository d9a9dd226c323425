import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mockServices } from '@backstage/backend-test-utils';
import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { LocalCluster, startLocalCluster } from '@backstage-dex/local-cluster';
import { DEFAULT_USABLE_SECRET_LABEL } from '@backstage-dex/plugin-dex-common';
import { kubeConfigFor } from '@backstage-dex/plugin-dex-node';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import yaml from 'yaml';
import { runAction } from '../__testUtils__/mockContext';
import { createDexPackApplyAction } from './packApply';

// A real kube-apiserver with RBAC; certificates are signed in pure JS (slow under jest).
jest.setTimeout(240_000);

/** The installer's RBAC as the README links it: the one definition this test applies. */
const MANIFEST = path.resolve(__dirname, '../../rbac/dex-pack-installer.yaml');
const INSTALLER = 'system:serviceaccount:backstage:dex-pack-installer';
const ENTITY = 'component:default/payments-api';
/** The namespace the platform made and bound the installer in; OTHER exists, unbound. */
const BOUND = 'team-a';
const OTHER = 'team-b';

type Rule = {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
};
type ManifestObject = KubernetesObject & { rules?: Rule[] };

/** One request of the installer, from the apiserver's audit log. */
type AuditEvent = {
  verb: string;
  requestURI: string;
  objectRef?: {
    apiGroup?: string;
    resource?: string;
    namespace?: string;
    name?: string;
  };
  responseStatus?: { code?: number };
};

const WRITE_VERBS = new Set(['create', 'patch', 'update', 'delete']);

describe("dex:pack:apply with the installer's documented RBAC (rbac/dex-pack-installer.yaml), on a real kube-apiserver", () => {
  let cluster: LocalCluster;
  let workDir: string;
  let auditLog: string;
  let k8s: typeof import('@kubernetes/client-node');
  let admin: KubeConfig;
  let installer: KubeConfig;
  let manifest: ManifestObject[];
  let action: ReturnType<typeof createDexPackApplyAction>;

  /** Made as the backend makes a configured cluster's KubeConfig. */
  const kubeConfig = (token: string) =>
    kubeConfigFor({
      name: 'local',
      url: cluster.server,
      authProvider: 'serviceAccount',
      serviceAccountToken: token,
      caData: Buffer.from(cluster.caPem).toString('base64'),
    });

  /** The installer's requests so far (the audit backend writes each before it answers). */
  const audit = (): AuditEvent[] =>
    fs
      .readFileSync(auditLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(line => JSON.parse(line));

  const summarise = (e: AuditEvent) =>
    `${e.verb} ${e.requestURI.split('?')[0]} -> ${e.responseStatus?.code}`;
  const writesOf = (events: AuditEvent[]) =>
    events.filter(e => WRITE_VERBS.has(e.verb)).map(summarise);
  /** Requests the apiserver did not authorise (a 404 for an absent object is an answer). */
  const refused = (events: AuditEvent[]) =>
    events
      .filter(e => [401, 403].includes(e.responseStatus?.code ?? 0))
      .map(summarise);

  const byKind = (kind: string) =>
    manifest.filter(o => o.kind === kind) as ManifestObject[];

  /** Server-side applies objects as the admin (the platform team). */
  async function platformApplies(objects: KubernetesObject[]) {
    const api = k8s.KubernetesObjectApi.makeApiClient(admin);
    for (const o of objects)
      await api.patch(
        o,
        undefined,
        undefined,
        'platform',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
  }

  /** Every object of the namespace's kinds the pack writes, with its resourceVersion. */
  async function versionsIn(namespace: string) {
    const core = admin.makeApiClient(k8s.CoreV1Api);
    const apps = admin.makeApiClient(k8s.AppsV1Api);
    const lists = await Promise.all([
      core.listNamespacedSecret({ namespace }),
      core.listNamespacedConfigMap({ namespace }),
      core.listNamespacedService({ namespace }),
      core.listNamespacedServiceAccount({ namespace }),
      apps.listNamespacedDeployment({ namespace }),
    ]);
    return Object.fromEntries(
      lists.flatMap(l =>
        (l.items as KubernetesObject[]).map(o => [
          `${o.kind ?? ''}${o.metadata!.name}`,
          o.metadata!.resourceVersion,
        ]),
      ),
    );
  }

  /** The spec a developer's run sends: an Ingress, an LDAP connector with the form's secret, GitHub with a labelled Secret. */
  const input = (extra: JsonObject = {}): JsonObject => ({
    cluster: 'prod',
    entityRef: ENTITY,
    namespace: BOUND,
    dex: {
      exposure: {
        ingress: { enabled: true, hosts: ['dex.team-a.example.com'] },
      },
    },
    connectors: [
      {
        type: 'ldap',
        id: 'ldap',
        name: 'LDAP',
        host: 'ldap.example.com:636',
        bindDN: 'cn=dex,dc=example,dc=com',
        bindPasswordRef: { name: 'dex-secret-inputs', key: 'bind-password' },
        userBaseDN: 'ou=people,dc=example,dc=com',
      },
      {
        type: 'github',
        id: 'github',
        name: 'GitHub',
        clientId: 'Iv1.0123456789abcdef',
        clientSecretRef: { name: 'github-oauth', key: 'client-secret' },
      },
    ],
    secretInputs: { 'bind-password': 'correct horse' },
    ...extra,
  });

  beforeAll(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dex-rbac-'));
    auditLog = path.join(workDir, 'audit.log');
    const policy = path.join(workDir, 'audit-policy.yaml');
    // Every request of the installer (metadata only: no bodies), nothing else.
    fs.writeFileSync(
      policy,
      yaml.stringify({
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitStages: ['RequestReceived'],
        rules: [{ level: 'Metadata', users: [INSTALLER] }, { level: 'None' }],
      }),
    );
    // Its own cluster: the first install must be the one that creates Dex's CRDs.
    cluster = await startLocalCluster({
      apiServerFlags: [
        `--audit-policy-file=${policy}`,
        `--audit-log-path=${auditLog}`,
      ],
    });
    k8s = await import('@kubernetes/client-node');
    admin = await kubeConfig(cluster.token);
    const core = admin.makeApiClient(k8s.CoreV1Api);

    manifest = yaml
      .parseAllDocuments(fs.readFileSync(MANIFEST, 'utf8'))
      .map(d => d.toJS() as ManifestObject);
    const [roleBinding] = byKind('RoleBinding');
    for (const name of ['backstage', BOUND, OTHER])
      await core.createNamespace({ body: { metadata: { name } } });
    // As the README says: everything as it is, and the RoleBinding once per target namespace.
    await platformApplies([
      ...manifest.filter(o => o.kind !== 'RoleBinding'),
      {
        ...roleBinding,
        metadata: { ...roleBinding.metadata, namespace: BOUND },
      },
    ]);
    // A Secret the platform marked usable by packs, and another team's database password.
    await core.createNamespacedSecret({
      namespace: BOUND,
      body: {
        metadata: {
          name: 'github-oauth',
          labels: {
            [DEFAULT_USABLE_SECRET_LABEL.key]:
              DEFAULT_USABLE_SECRET_LABEL.value,
          },
        },
        stringData: { 'client-secret': 'gh-secret' },
      },
    });
    await core.createNamespacedSecret({
      namespace: OTHER,
      body: {
        metadata: { name: 'database' },
        stringData: { password: 'team-b-secret' },
      },
    });
    const token = await core.createNamespacedServiceAccountToken({
      name: 'dex-pack-installer',
      namespace: 'backstage',
      body: { spec: { audiences: [] } },
    });
    installer = await kubeConfig(token.status!.token!);
    action = createDexPackApplyAction({
      permissions: mockServices.permissions(),
      config: new ConfigReader({
        kubernetes: {
          clusterLocatorMethods: [
            {
              type: 'config',
              clusters: [
                {
                  name: 'prod',
                  url: cluster.server,
                  authProvider: 'serviceAccount',
                  serviceAccountToken: token.status!.token,
                  caData: Buffer.from(cluster.caPem).toString('base64'),
                },
              ],
            },
          ],
        },
      }),
    });
  });

  afterAll(async () => {
    await cluster?.stop();
    if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  it("installs a first pack with kubernetes storage, creating Dex's CRDs, the form's secret inputs and a labelled Secret", async () => {
    const ext = admin.makeApiClient(k8s.ApiextensionsV1Api);
    expect(
      (await ext.listCustomResourceDefinition()).items.map(
        c => c.metadata!.name,
      ),
    ).toEqual([]);

    const { outputs } = await runAction(action, { input: input() });

    const objects = outputs.objects as {
      kind: string;
      name: string;
      action: string;
    }[];
    const crds = objects.filter(o => o.kind === 'CustomResourceDefinition');
    expect(crds.map(o => o.action)).toEqual(Array(10).fill('create'));
    expect(
      (await ext.listCustomResourceDefinition()).items
        .map(c => c.metadata!.name)
        .sort(),
    ).toEqual(crds.map(o => o.name).sort());
    // The manifest names exactly the CRDs the pack installs, and exactly the resources Dex's Role grants.
    const [crdRole] = byKind('ClusterRole').filter(
      r => r.metadata!.name === 'dex-pack-installer-crds',
    );
    expect([...crdRole.rules![0].resourceNames!].sort()).toEqual(
      crds.map(o => o.name).sort(),
    );
    const dexRole = await admin
      .makeApiClient(k8s.RbacAuthorizationV1Api)
      .readNamespacedRole({ name: 'dex', namespace: BOUND });
    const [namespaced] = byKind('ClusterRole').filter(
      r => r.metadata!.name === 'dex-pack-installer',
    );
    const storageRule = namespaced.rules!.find(r =>
      r.apiGroups!.includes('dex.coreos.com'),
    )!;
    expect(dexRole.rules).toEqual([
      expect.objectContaining({
        resources: storageRule.resources,
        verbs: storageRule.verbs,
      }),
    ]);

    const core = admin.makeApiClient(k8s.CoreV1Api);
    const inputs = await core.readNamespacedSecret({
      name: 'dex-secret-inputs',
      namespace: BOUND,
    });
    expect(
      Buffer.from(inputs.data!['bind-password'], 'base64').toString(),
    ).toBe('correct horse');
    // No request of the installer was refused along the way.
    expect(refused(audit())).toEqual([]);
  });

  it('re-runs with zero writes', async () => {
    const before = await versionsIn(BOUND);
    const seen = audit().length;
    const { outputs } = await runAction(action, { input: input() });
    expect(outputs.plan).toMatchObject({ create: [], change: [] });
    expect(writesOf(audit().slice(seen))).toEqual([]);
    expect(await versionsIn(BOUND)).toEqual(before);
  });

  it('plans a change in a dry run and writes nothing', async () => {
    const before = await versionsIn(BOUND);
    const { outputs } = await runAction(action, {
      input: input({
        dex: {
          replicas: 2,
          exposure: {
            ingress: { enabled: true, hosts: ['dex.team-a.example.com'] },
          },
        },
      }),
      isDryRun: true,
    });
    expect((outputs.plan as { change: unknown[] }).change).toContainEqual({
      object: `Deployment ${BOUND}/dex`,
      fields: ['spec.replicas'],
    });
    expect(await versionsIn(BOUND)).toEqual(before);
  });

  it('rotates the certificates and updates a secret input', async () => {
    const core = admin.makeApiClient(k8s.CoreV1Api);
    const ca = async () =>
      (await core.readNamespacedSecret({ name: 'dex-ca', namespace: BOUND }))
        .data!['tls.crt'];
    const caBefore = await ca();
    await runAction(action, {
      input: input({
        rotateCertificates: true,
        secretInputs: { 'bind-password': 'battery staple' },
      }),
    });
    expect(await ca()).not.toBe(caBefore);
    const inputs = await core.readNamespacedSecret({
      name: 'dex-secret-inputs',
      namespace: BOUND,
    });
    expect(
      Buffer.from(inputs.data!['bind-password'], 'base64').toString(),
    ).toBe('battery staple');
    expect(refused(audit())).toEqual([]);
  });

  it('uses every right it is given: each verb of each rule was needed by the runs above', () => {
    const events = audit().filter(e => (e.responseStatus?.code ?? 0) < 400);
    // Server-side apply of an absent object is authorised as create as well (201).
    const used = events.flatMap(e => {
      const r = e.objectRef;
      if (!r?.resource) return [`${e.verb} ${e.requestURI.split('?')[0]}`];
      const key = (verb: string) =>
        `${verb} ${r.apiGroup ?? ''}/${r.resource}${r.name ? `/${r.name}` : ''}`;
      return e.verb === 'patch' && e.responseStatus?.code === 201
        ? [key('patch'), key('create')]
        : [key(e.verb)];
    });
    const unused: string[] = [];
    for (const role of byKind('ClusterRole')) {
      for (const rule of role.rules!) {
        for (const verb of rule.verbs) {
          // Held only to grant them to Dex's Role (proven below); the installer itself lists them.
          if (rule.apiGroups?.includes('dex.coreos.com') && verb !== 'list')
            continue;
          const wanted = rule.nonResourceURLs
            ? rule.nonResourceURLs.map(u => `${verb} ${u}`)
            : rule.resources!.flatMap(res =>
                (rule.resourceNames ?? ['']).map(
                  n =>
                    `${verb} ${rule.apiGroups![0]}/${res}${n ? `/${n}` : ''}`,
                ),
              );
          const matched = (w: string) =>
            used.some(
              u => u === w || (!rule.resourceNames && u.startsWith(`${w}/`)),
            );
          // A rule is needed when some request used it: per resource (and per name when named).
          for (const w of wanted)
            if (!matched(w)) unused.push(`${role.metadata!.name}: ${w}`);
        }
      }
    }
    expect(unused).toEqual([]);
  });

  it("needs all of Dex's storage verbs to grant them: without them its Role is refused", async () => {
    const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
    const core = admin.makeApiClient(k8s.CoreV1Api);
    const [namespaced] = byKind('ClusterRole').filter(
      r => r.metadata!.name === 'dex-pack-installer',
    );
    // The same installer, holding only `list` on Dex's resources.
    await core.createNamespacedServiceAccount({
      namespace: 'backstage',
      body: { metadata: { name: 'list-only' } },
    });
    await platformApplies([
      {
        ...namespaced,
        metadata: { name: 'list-only' },
        rules: namespaced.rules!.map(r =>
          r.apiGroups!.includes('dex.coreos.com')
            ? { ...r, verbs: ['list'] }
            : r,
        ),
      } as KubernetesObject,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'list-only', namespace: BOUND },
        roleRef: {
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'ClusterRole',
          name: 'list-only',
        },
        subjects: [
          { kind: 'ServiceAccount', name: 'list-only', namespace: 'backstage' },
        ],
      } as KubernetesObject,
    ]);
    const token = await core.createNamespacedServiceAccountToken({
      name: 'list-only',
      namespace: 'backstage',
      body: { spec: { audiences: [] } },
    });
    const dexRole = await rbac.readNamespacedRole({
      name: 'dex',
      namespace: BOUND,
    });
    const listOnly = await kubeConfig(token.status!.token!);
    await expect(
      listOnly.makeApiClient(k8s.RbacAuthorizationV1Api).createNamespacedRole({
        namespace: BOUND,
        body: { metadata: { name: 'dex-copy' }, rules: dexRole.rules },
      }),
    ).rejects.toMatchObject({
      code: 403,
      body: expect.stringContaining(
        'attempting to grant RBAC permissions not currently held',
      ),
    });
  });

  it('is not broader than that: the apiserver refuses what the pack does not need', async () => {
    const refusedWith403 = (call: Promise<unknown>) =>
      expect(call).rejects.toMatchObject({ code: 403 });
    const core = installer.makeApiClient(k8s.CoreV1Api);
    const rbac = installer.makeApiClient(k8s.RbacAuthorizationV1Api);
    const objects = k8s.KubernetesObjectApi.makeApiClient(installer);
    // Another team's Secret, in a namespace it is not bound in; Secrets cluster-wide.
    await refusedWith403(
      core.readNamespacedSecret({ name: 'database', namespace: OTHER }),
    );
    await refusedWith403(core.listSecretForAllNamespaces());
    await refusedWith403(core.listNamespacedSecret({ namespace: BOUND }));
    // Cluster-scoped RBAC and namespaces.
    await refusedWith403(
      rbac.createClusterRole({
        body: {
          metadata: { name: 'escalated' },
          rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }],
        },
      }),
    );
    await refusedWith403(
      rbac.createClusterRoleBinding({
        body: {
          metadata: { name: 'escalated' },
          roleRef: {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: 'cluster-admin',
          },
          subjects: [
            {
              kind: 'ServiceAccount',
              name: 'dex-pack-installer',
              namespace: 'backstage',
            },
          ],
        },
      }),
    );
    await refusedWith403(
      core.createNamespace({ body: { metadata: { name: 'mine' } } }),
    );
    // CRDs other than Dex's: neither created nor changed (one the platform made).
    const foreignCrd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: {
          kind: 'Widget',
          plural: 'widgets',
          singular: 'widget',
          listKind: 'WidgetList',
        },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                'x-kubernetes-preserve-unknown-fields': true,
              },
            },
          },
        ],
      },
    };
    const apply = (o: KubernetesObject) =>
      objects.patch(
        o,
        undefined,
        undefined,
        'backstage-dex',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
    await refusedWith403(apply(foreignCrd));
    await platformApplies([foreignCrd]);
    await refusedWith403(
      apply({
        ...foreignCrd,
        metadata: { ...foreignCrd.metadata, labels: { mine: 'yes' } },
      }),
    );

    // What the SubjectAccessReview says, for the record of the manifest's meaning.
    const authz = admin.makeApiClient(k8s.AuthorizationV1Api);
    const may = async (attributes: Record<string, string>) =>
      (
        await authz.createSubjectAccessReview({
          body: {
            spec: {
              user: INSTALLER,
              groups: [
                'system:serviceaccounts',
                'system:serviceaccounts:backstage',
                'system:authenticated',
              ],
              resourceAttributes: attributes,
            },
          },
        })
      ).status!.allowed;
    const decisions = {
      'get secrets in team-b': await may({
        verb: 'get',
        resource: 'secrets',
        namespace: OTHER,
      }),
      'list secrets in team-a': await may({
        verb: 'list',
        resource: 'secrets',
        namespace: BOUND,
      }),
      'delete secrets in team-a': await may({
        verb: 'delete',
        resource: 'secrets',
        namespace: BOUND,
      }),
      'update deployments in team-a': await may({
        verb: 'update',
        group: 'apps',
        resource: 'deployments',
        namespace: BOUND,
      }),
      'create pods in team-a': await may({
        verb: 'create',
        resource: 'pods',
        namespace: BOUND,
      }),
      'create clusterroles': await may({
        verb: 'create',
        group: 'rbac.authorization.k8s.io',
        resource: 'clusterroles',
      }),
      'create clusterrolebindings': await may({
        verb: 'create',
        group: 'rbac.authorization.k8s.io',
        resource: 'clusterrolebindings',
      }),
      'escalate roles in team-a': await may({
        verb: 'escalate',
        group: 'rbac.authorization.k8s.io',
        resource: 'roles',
        namespace: BOUND,
      }),
      'bind roles in team-a': await may({
        verb: 'bind',
        group: 'rbac.authorization.k8s.io',
        resource: 'roles',
        namespace: BOUND,
      }),
      'create namespaces': await may({
        verb: 'create',
        resource: 'namespaces',
      }),
      'patch namespace team-a': await may({
        verb: 'patch',
        resource: 'namespaces',
        name: BOUND,
        namespace: BOUND,
      }),
      'patch CRD widgets.example.com': await may({
        verb: 'patch',
        group: 'apiextensions.k8s.io',
        resource: 'customresourcedefinitions',
        name: 'widgets.example.com',
      }),
      'list CRDs': await may({
        verb: 'list',
        group: 'apiextensions.k8s.io',
        resource: 'customresourcedefinitions',
      }),
      'delete CRD connectors.dex.coreos.com': await may({
        verb: 'delete',
        group: 'apiextensions.k8s.io',
        resource: 'customresourcedefinitions',
        name: 'connectors.dex.coreos.com',
      }),
      // ...and what it is given.
      'patch CRD connectors.dex.coreos.com': await may({
        verb: 'patch',
        group: 'apiextensions.k8s.io',
        resource: 'customresourcedefinitions',
        name: 'connectors.dex.coreos.com',
      }),
      'get secrets in team-a': await may({
        verb: 'get',
        resource: 'secrets',
        namespace: BOUND,
      }),
    };
    expect(decisions).toEqual({
      'get secrets in team-b': false,
      'list secrets in team-a': false,
      'delete secrets in team-a': false,
      'update deployments in team-a': false,
      'create pods in team-a': false,
      'create clusterroles': false,
      'create clusterrolebindings': false,
      'escalate roles in team-a': false,
      'bind roles in team-a': false,
      'create namespaces': false,
      'patch namespace team-a': false,
      'patch CRD widgets.example.com': false,
      'list CRDs': false,
      'delete CRD connectors.dex.coreos.com': false,
      'patch CRD connectors.dex.coreos.com': true,
      'get secrets in team-a': true,
    });
  });

  it('cannot install into a namespace it is not bound in, and writes nothing there', async () => {
    const run = runAction(action, { input: input({ namespace: OTHER }) });
    await expect(run).rejects.toThrow(/forbidden|403/i);
    const secrets = await admin
      .makeApiClient(k8s.CoreV1Api)
      .listNamespacedSecret({ namespace: OTHER });
    expect(secrets.items.map(s => s.metadata!.name)).toEqual(['database']);
  });
});
