import net from 'node:net';
import YAML from 'yaml';
import { ConfigReader } from '@backstage/config';
import { LocalCluster, startLocalCluster } from '@backstage-dex/local-cluster';
import {
  DEFAULT_POLICY,
  PackSpec,
  PlatformPolicy,
} from '@backstage-dex/plugin-dex-common';
import type { KubeConfig } from '@kubernetes/client-node';
import { clientNode } from '../cluster/clientNode';
import {
  ClusterDetails,
  findCluster,
  kubeConfigFor,
  readClusters,
} from '../cluster/clusters';
import { generateCa } from '../pack/certificates';
import { PackMaterial } from '../pack/material';
import { render, toYaml } from '../pack/render';
import { ProvisionOptions, provisionPack } from '../provision';
import {
  adminKubeConfig,
  clusterSnapshot,
  createNamespace,
  createSecret,
  packSpec,
  readSecret,
  secretValue,
  snapshotDiff,
} from './helpers';

jest.setTimeout(120_000);

const NS = 'base';
/** A value that would start a new document (a Secret) if it were pasted into YAML unquoted. */
const YAML_INJECTION =
  'harmless\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: injected\n  namespace: base\n';
const JSON_INJECTION = '{"a":1}';
const INLINE_SECRET = 'inline-s3cret-value-4711';
const FOREIGN_SECRET = 'app-db-password-9931';
/** A second kube-apiserver flag smuggled into a value after a line break (issue 13). */
const FLAG_INJECTION = '\n--authorization-mode=AlwaysAllow';

type Mutate = (s: PackSpec) => void;

/** The table's spec: the baseline pack's spec (same namespace and instance) with one mistake. */
function bad(mutate: Mutate): PackSpec {
  const s = structuredClone(packSpec(NS));
  mutate(s);
  return s;
}

const dexIngress = (s: PackSpec) => s.dex.exposure.ingress!;
const any = (v: unknown) => v as never;

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise(resolve => server.close(resolve));
  return port;
}

describe('bad input never touches the cluster', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let clusters: ClusterDetails[];
  let before: Map<string, string>;
  let port: number;

  const onlyDexPolicy: PlatformPolicy = {
    ...DEFAULT_POLICY,
    dex: { allowedVersions: ['2.45.1'], defaultVersion: '2.45.1' },
    authenticator: { allowedVersions: ['1.4.0'], defaultVersion: '1.4.0' },
  };

  beforeAll(async () => {
    [cluster, port] = await Promise.all([startLocalCluster(), closedPort()]);
    kc = await adminKubeConfig(cluster);
    // The baseline: a pack in NS, and an unrelated ConfigMap next to it, made by someone else.
    await provisionPack(kc, packSpec(NS));
    const k8s = await clientNode();
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({
      namespace: NS,
      body: {
        metadata: { name: 'unrelated', namespace: NS },
        data: { owner: 'someone else' },
      },
      fieldManager: 'kubectl-create',
    });
    // A Secret that exists but lacks the key a connector asks for.
    await createSecret(kc, NS, 'github-oauth-partial', { other: 'x' });
    // A client secret Dex < 2.43 would paste into its JSON config unescaped.
    await createSecret(kc, NS, 'github-oauth-quoted', {
      'client-secret': 'abc","insecureSkipVerify":true,"x":"',
    });
    // A Secret of the namespace that the platform did not mark usable by packs (e.g. an app's).
    await createSecret(
      kc,
      NS,
      'app-database',
      { password: FOREIGN_SECRET },
      { usable: false },
    );
    // A Secret with the name of instance "other"'s secret inputs, made by someone else.
    await createSecret(
      kc,
      NS,
      'other-secret-inputs',
      { github: FOREIGN_SECRET },
      { usable: false },
    );
    clusters = readClusters(
      new ConfigReader({
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
                  caData: Buffer.from(cluster.caPem).toString('base64'),
                },
              ],
            },
          ],
        },
      }),
    );
    before = await clusterSnapshot(kc);
  });
  afterAll(() => cluster?.stop());

  const local = () => findCluster(clusters, 'local');
  const via = async (details: Partial<ClusterDetails>, spec = packSpec(NS)) =>
    provisionPack(await kubeConfigFor({ ...local(), ...details }), spec);

  interface Row {
    name: string;
    run: () => Promise<unknown>;
    /** Each must match the error message: the field, and what to change. */
    messages: RegExp[];
  }
  /** A row of the baseline spec with one mistake (`mutate`), provisioned under `policy`. */
  const badSpec = (
    name: string,
    messages: RegExp | RegExp[],
    mutate: Mutate,
    policy?: PlatformPolicy,
    options: ProvisionOptions = {},
  ): Row => ({
    name,
    run: () => provisionPack(kc, bad(mutate), { policy, ...options }),
    messages: [messages].flat(),
  });
  const withPolicy = (extra: Partial<PlatformPolicy>): PlatformPolicy => ({
    ...DEFAULT_POLICY,
    ...extra,
  });
  const githubWith = (clientSecretRef: { name: string; key: string }) =>
    [
      {
        type: 'github',
        id: 'github',
        name: 'GitHub',
        clientId: 'abc',
        clientSecretRef,
      },
    ] as PackSpec['connectors'];

  /** One static user, a@example.test, with its password given as `password`. */
  const userWith = (
    password: Partial<NonNullable<PackSpec['staticUsers']>[number]>,
  ) =>
    [
      { email: 'a@example.test', username: 'a', ...password },
    ] as PackSpec['staticUsers'];

  const rows: Row[] = [
    // --- names, namespaces, hosts (DNS-1123)
    badSpec(
      'namespace with uppercase and _',
      /namespace: "Team_A" is not a valid namespace: use at most 63 lowercase letters, digits and '-'.*DNS-1123 label/,
      s => {
        s.namespace = 'Team_A';
      },
    ),
    badSpec('empty namespace', /namespace: namespace is required/, s => {
      s.namespace = '';
    }),
    badSpec(
      'namespace of 64 characters',
      /namespace: .* use at most 63 /,
      s => {
        s.namespace = 'a'.repeat(64);
      },
    ),
    badSpec(
      'instance with a dot',
      /instance: "dex\.prod" is not a valid instance name: .*DNS-1123 label/,
      s => {
        s.instance = 'dex.prod';
      },
    ),
    badSpec(
      'instance too long for its suffixes',
      /instance: .*use at most 40 /,
      s => {
        s.instance = 'd'.repeat(41);
      },
    ),
    badSpec(
      'host with a scheme',
      /dex\.exposure\.ingress\.hosts\[0\]: .*not a valid host name: .*without scheme, port, path or wildcard/,
      s => {
        dexIngress(s).hosts = ['https://dex.example.test'];
      },
    ),
    badSpec(
      'wildcard host',
      /dex\.exposure\.ingress\.hosts\[0\]: "\*\.example\.test" is not a valid host name/,
      s => {
        dexIngress(s).hosts = ['*.example.test'];
      },
    ),
    badSpec(
      'host with a port',
      /dex\.exposure\.ingress\.hosts\[0\]: .*without scheme, port/,
      s => {
        dexIngress(s).hosts = ['dex.example.test:8443'];
      },
    ),
    badSpec(
      'uppercase host',
      /dex\.exposure\.ingress\.hosts\[0\]: .*use lowercase DNS labels/,
      s => {
        dexIngress(s).hosts = ['Dex.Example.test'];
      },
    ),
    badSpec(
      'extra name with _',
      /authenticator\.exposure\.extraNames\[0\]: "login_example" is not a valid host name/,
      s => {
        s.authenticator.exposure.extraNames = ['login_example'];
      },
    ),
    badSpec(
      'kubernetesId with a space',
      /kubernetesId: must be a label value: at most 63 letters, digits/,
      s => {
        s.kubernetesId = 'payments api';
      },
    ),
    badSpec(
      'clientId with a slash',
      /clientId: use letters, digits, '-', '_' or '\.'/,
      s => {
        s.clientId = 'kube/rnetes';
      },
    ),
    // --- versions
    badSpec(
      'Dex version not allowed by policy',
      /dex\.version: Dex version 2\.44\.0 is not allowed by the platform \(dex: config\); allowed: 2\.45\.1/,
      s => {
        s.dex.version = '2.44.0';
      },
      onlyDexPolicy,
    ),
    badSpec(
      'unknown Dex version',
      /dex\.version: Dex version "2\.99\.0" is not in the catalogue; choose one of 2\.45\.1, /,
      s => {
        s.dex.version = '2.99.0';
      },
    ),
    badSpec(
      'authenticator version not allowed by policy',
      /authenticator\.version: dex-k8s-authenticator version 1\.2\.0 is not allowed .*allowed: 1\.4\.0/,
      s => {
        s.authenticator.version = '1.2.0';
      },
      onlyDexPolicy,
    ),
    badSpec(
      'unknown authenticator version',
      /authenticator\.version: .*"latest" is not in the catalogue; choose one of 1\.4\.0, 1\.2\.0/,
      s => {
        s.authenticator.version = 'latest';
      },
    ),
    badSpec(
      'kubernetes storage on a Kubernetes without apiextensions.k8s.io/v1 CRDs',
      /dex\.storage: kubernetes storage needs CustomResourceDefinitions of apiextensions\.k8s\.io\/v1, which Kubernetes v1\.15\.12 does not serve/,
      s => {
        s.kubernetesVersion = 'v1.15.12';
      },
    ),
    // --- authenticator and issuer
    badSpec(
      'authenticator enabled, Dex issuer over http',
      /dex\.issuerUrl: "http:\/\/dex\.example\.test" must use https/,
      s => {
        s.dex.issuerUrl = 'http://dex.example.test';
      },
    ),
    badSpec(
      'authenticator url over http (not localhost)',
      /authenticator\.url: .*must use https \(http is allowed only for localhost\)/,
      s => {
        s.authenticator.url = 'http://login.example.test';
      },
    ),
    badSpec(
      'apiServerUrl that is not a URL',
      /authenticator\.apiServerUrl: .*must use https|authenticator\.apiServerUrl: .*not a URL/,
      s => {
        s.authenticator.apiServerUrl = 'kube.example.test:6443';
      },
    ),
    // --- Ingress
    badSpec(
      'Dex Ingress enabled without hosts',
      /dex\.exposure\.ingress\.hosts: an enabled Ingress needs at least one host; add one or set ingress\.enabled: false/,
      s => {
        dexIngress(s).hosts = [];
      },
    ),
    badSpec(
      'authenticator Ingress enabled, hosts missing',
      /authenticator\.exposure\.ingress\.hosts: an enabled Ingress needs at least one host/,
      s => {
        s.authenticator.exposure.ingress = any({ enabled: true });
      },
    ),
    badSpec(
      'Ingress TLS Secret named but missing',
      /dex\.exposure\.ingress\.tlsSecretName: Secret base\/no-such-tls does not exist; create it first/,
      s => {
        dexIngress(s).tlsSecretName = 'no-such-tls';
      },
    ),
    // --- connectors
    badSpec(
      'GitHub connector without clientId and secret',
      [
        /connectors\[0\]\.clientId: the GitHub OAuth app client id is required/,
        /connectors\[0\]\.clientSecretRef: a Secret reference \{name, key\} in the pack namespace is required/,
      ],
      s => {
        s.connectors = [any({ type: 'github', id: 'github', name: 'GitHub' })];
      },
    ),
    badSpec(
      'LDAP connector without host, bindDN, base DN',
      [
        /connectors\[0\]\.host: give the LDAP server as host:port/,
        /connectors\[0\]\.bindDN: the DN to bind as is required/,
        /connectors\[0\]\.userBaseDN: the base DN to search users under is required/,
      ],
      s => {
        s.connectors = [
          any({
            type: 'ldap',
            id: 'corp',
            name: 'Corp',
            bindPasswordRef: { name: 'ldap', key: 'pw' },
          }),
        ];
      },
    ),
    badSpec(
      'OIDC connector with an http issuer',
      /connectors\[0\]\.issuer: "http:\/\/sso\.example\.test" must use https/,
      s => {
        s.connectors = [
          {
            type: 'oidc',
            id: 'sso',
            name: 'SSO',
            issuer: 'http://sso.example.test',
            clientId: 'dex',
            clientSecretRef: { name: 'sso', key: 'secret' },
          },
        ];
      },
    ),
    badSpec(
      'unknown connector type',
      /connectors\[0\]\.type: unknown connector type "keystone"; use github, gitlab, microsoft, google, oidc, oauth, saml, ldap/,
      s => {
        s.connectors = [any({ type: 'keystone', id: 'ks', name: 'Keystone' })];
      },
    ),
    badSpec(
      'a connector the Dex version lacks',
      /connectors\[0\]\.type: Dex 2\.30\.0 has no oauth connector \(the oldest catalogued release with it is 2\.35\.1\)/,
      s => {
        s.dex.version = '2.30.0';
        s.connectors = [
          any({
            type: 'oauth',
            id: 'oauth',
            name: 'OAuth',
            authorizationURL: 'https://oauth.example.com/authorize',
            tokenURL: 'https://oauth.example.com/token',
            userInfoURL: 'https://oauth.example.com/userinfo',
            clientId: 'dex',
            clientSecretRef: { name: 'sso', key: 'secret' },
          }),
        ];
      },
    ),
    badSpec(
      'connector secret given inline',
      /connectors\[0\]\.clientSecret: secrets are never given inline: store it in a Secret and reference it with clientSecretRef: \{name, key\}/,
      s => {
        s.connectors = [
          any({
            type: 'github',
            id: 'github',
            name: 'GitHub',
            clientId: 'abc',
            clientSecret: INLINE_SECRET,
          }),
        ];
      },
    ),
    badSpec(
      'connector clientId that is not a string',
      /connectors\[0\]\.clientId: .*string/,
      s => {
        s.connectors = [
          any({
            type: 'github',
            id: 'github',
            name: 'GitHub',
            clientId: { a: 1 },
            clientSecretRef: { name: 'github-oauth-partial', key: 'other' },
          }),
        ];
      },
    ),
    badSpec(
      'connector Secret missing in the cluster',
      /connectors\[0\]\.clientSecretRef: Secret base\/github-oauth has no key "client-secret" \(the Secret does not exist\); create it first/,
      s => {
        s.connectors = [
          {
            type: 'github',
            id: 'github',
            name: 'GitHub',
            clientId: 'abc',
            clientSecretRef: { name: 'github-oauth', key: 'client-secret' },
          },
        ];
      },
    ),
    badSpec(
      'connector Secret without the key',
      /connectors\[0\]\.clientSecretRef: Secret base\/github-oauth-partial has no key "client-secret"; create it first/,
      s => {
        s.connectors = [
          {
            type: 'github',
            id: 'github',
            name: 'GitHub',
            clientId: 'abc',
            clientSecretRef: {
              name: 'github-oauth-partial',
              key: 'client-secret',
            },
          },
        ];
      },
    ),
    badSpec(
      'connector secret with a quote, for a Dex that pastes it into JSON',
      /connectors\[0\]\.clientSecretRef: the value in Secret base\/github-oauth-quoted contains a quote, backslash or control character, which Dex 2\.41\.1 would paste into its JSON config unescaped; use a value without them, or Dex 2\.43\.1 or newer/,
      s => {
        s.dex.version = '2.41.1';
        s.connectors = [
          {
            type: 'github',
            id: 'github',
            name: 'GitHub',
            clientId: 'abc',
            clientSecretRef: {
              name: 'github-oauth-quoted',
              key: 'client-secret',
            },
          },
        ];
      },
    ),
    // --- static clients and users
    badSpec(
      'duplicate static client ids',
      /staticClients\[1\]\.id: duplicate static client id "app"; each client needs its own id/,
      s => {
        s.staticClients = [
          { id: 'app', redirectURIs: ['https://app.example.test/cb'] },
          { id: 'app', redirectURIs: ['https://app.example.test/cb2'] },
        ];
      },
    ),
    badSpec(
      "static client with the pack's own client id",
      /staticClients\[0\]\.id: "kubernetes" is the pack's own client \(clientId\); give this client another id/,
      s => {
        s.staticClients = [
          { id: 'kubernetes', redirectURIs: ['https://app.example.test/cb'] },
        ];
      },
    ),
    badSpec(
      'redirect URI over http (not localhost)',
      /staticClients\[0\]\.redirectURIs\[0\]: "http:\/\/app\.example\.test\/cb" must use https \(http is allowed only for localhost\)/,
      s => {
        s.staticClients = [
          { id: 'app', redirectURIs: ['http://app.example.test/cb'] },
        ];
      },
    ),
    badSpec(
      'static client secret given inline',
      /staticClients\[0\]\.secret: secrets are never given inline: reference a Secret with secretRef/,
      s => {
        s.staticClients = [
          any({
            id: 'app',
            redirectURIs: ['https://app.example.test/cb'],
            secret: INLINE_SECRET,
          }),
        ];
      },
    ),
    badSpec(
      'static user password given inline',
      /staticUsers\[0\]\.password: passwords are never given inline: .*passwordRef/,
      s => {
        s.staticUsers = userWith(any({ password: INLINE_SECRET }));
      },
    ),
    badSpec(
      'static user password Secret missing',
      /staticUsers\[0\]\.passwordRef: Secret base\/users has no key "a" \(the Secret does not exist\); create it first/,
      s => {
        s.staticUsers = userWith({ passwordRef: { name: 'users', key: 'a' } });
      },
    ),
    // --- exposure and sizes
    badSpec(
      'serviceType typo',
      /dex\.exposure\.serviceType: must be one of ClusterIP, LoadBalancer, NodePort; got "Loadbalancer"/,
      s => {
        s.dex.exposure.serviceType = any('Loadbalancer');
      },
    ),
    badSpec(
      'negative replicas',
      /dex\.replicas: must be a whole number from 1 to 20; got -1/,
      s => {
        s.dex.replicas = -1;
      },
    ),
    badSpec(
      'fractional authenticator replicas',
      /authenticator\.replicas: must be a whole number from 1 to 20; got 1\.5/,
      s => {
        s.authenticator.replicas = 1.5;
      },
    ),
    badSpec(
      'memory storage with 2 replicas',
      /dex\.replicas: memory storage is per pod: use dex\.storage: kubernetes/,
      s => {
        s.dex.storage = 'memory';
        s.dex.replicas = 2;
      },
    ),
    badSpec(
      'expiry that is not a duration',
      /expiry\.idTokens: "24 hours" is not a duration; write e\.g\. 24h/,
      s => {
        s.expiry.idTokens = '24 hours';
      },
    ),
    badSpec(
      'huge annotation value',
      /dex\.exposure\.ingress\.annotations\["example\.com\/note"\]: is 10000 characters long; keep it under 4096/,
      s => {
        dexIngress(s).annotations = { 'example.com/note': 'x'.repeat(10_000) };
      },
    ),
    badSpec(
      'annotations beyond the 256 KiB Kubernetes allows in total',
      /dex\.exposure\.ingress\.annotations: .*256 KiB/,
      s => {
        dexIngress(s).annotations = Object.fromEntries(
          Array.from({ length: 80 }, (_, i) => [
            `example.com/note-${i}`,
            'x'.repeat(4000),
          ]),
        );
      },
    ),
    badSpec(
      '10k Ingress hosts',
      /dex\.exposure\.ingress\.hosts: 10000 hosts; at most \d+/,
      s => {
        dexIngress(s).hosts = Array.from(
          { length: 10_000 },
          (_, i) => `h${i}.example.test`,
        );
      },
    ),
    badSpec(
      "redirect URIs that make Dex's config larger than 1 MiB",
      /objects larger than the 1 MiB Kubernetes stores per object: Secret\/base\/dex-config \(\d+ bytes\)\. Nothing was applied\. Use fewer or shorter staticClients, redirectURIs/,
      s => {
        s.staticClients = Array.from({ length: 60 }, (_, i) => ({
          id: `app-${i}`,
          redirectURIs: Array.from(
            { length: 50 },
            (_2, j) => `https://app-${i}.example.test/${'p'.repeat(400)}/${j}`,
          ),
        }));
      },
    ),
    badSpec(
      '101 static clients',
      /staticClients: 101 static clients; at most 100 are allowed/,
      s => {
        s.staticClients = Array.from({ length: 101 }, (_, i) => ({
          id: `app-${i}`,
          redirectURIs: ['https://a.example.test/cb'],
        }));
      },
    ),
    // --- injection into free text that ends up in flags or YAML
    badSpec(
      'kubernetesId carrying a YAML document',
      /kubernetesId: must be a label value/,
      s => {
        s.kubernetesId = YAML_INJECTION;
      },
    ),
    badSpec(
      'annotation key carrying a YAML document',
      /dex\.exposure\.ingress\.annotations: "harmless\\n---\\napiVersion.*" is not a valid annotation key/,
      s => {
        dexIngress(s).annotations = { [YAML_INJECTION]: 'x' };
      },
    ),
    badSpec(
      'username claim carrying an extra apiserver flag',
      /claims\.usernameClaim: .*(whitespace|claim name)/,
      s => {
        s.claims.usernameClaim = 'email\n--oidc-username-claim=sub';
      },
    ),
    badSpec(
      'groups prefix carrying an extra apiserver flag',
      /claims\.groupsPrefix: .*whitespace/,
      s => {
        s.claims.groupsPrefix = 'oidc:\n--oidc-groups-claim=roles';
      },
    ),
    badSpec(
      'connector name with control characters',
      /connectors\[0\]\.name: contains control characters; remove them/,
      s => {
        s.connectors = [
          {
            type: 'github',
            id: 'gh',
            name: 'Git\u0000Hub\r',
            clientId: 'a',
            clientSecretRef: { name: 'x', key: 'y' },
          },
        ];
      },
    ),
    // --- values that become kube-apiserver flags, URLs or paths (issue 13: each injection)
    badSpec(
      'issuer URL carrying a second apiserver flag',
      /dex\.issuerUrl: .* contains whitespace or control characters; remove them/,
      s => {
        s.dex.issuerUrl = `https://dex.base.example.test${FLAG_INJECTION}`;
      },
    ),
    badSpec(
      'issuer URL with a space',
      /dex\.issuerUrl: .*contains whitespace/,
      s => {
        s.dex.issuerUrl = 'https://dex.base.example.test/d ex';
      },
    ),
    badSpec(
      'apiServerCaFile carrying a second apiserver flag',
      /apiServerCaFile: .*contains whitespace or control characters; remove them \(the path becomes a kube-apiserver flag\)/,
      s => {
        s.apiServerCaFile = `/etc/kubernetes/pki/dex-ca.crt${FLAG_INJECTION}`;
      },
    ),
    badSpec(
      'apiServerCaFile climbing out with ..',
      /apiServerCaFile: .*no \. or \.\. segments/,
      s => {
        s.apiServerCaFile = '/etc/kubernetes/pki/../../../root/.ssh/id_rsa';
      },
    ),
    badSpec(
      'redirect URI with a line break',
      /staticClients\[0\]\.redirectURIs\[0\]: .*contains whitespace or control characters/,
      s => {
        s.staticClients = [
          {
            id: 'app',
            redirectURIs: [`https://app.example.test/cb${FLAG_INJECTION}`],
          },
        ];
      },
    ),
    badSpec(
      'authenticator URL with a tab',
      /authenticator\.url: .*contains whitespace or control characters/,
      s => {
        s.authenticator.url = 'https://login.example.test/\tx';
      },
    ),
    badSpec(
      'upstream OIDC issuer with a line break',
      /connectors\[0\]\.issuer: .*contains whitespace or control characters/,
      s => {
        s.connectors = [
          {
            type: 'oidc',
            id: 'sso',
            name: 'SSO',
            issuer: `https://sso.example.test${FLAG_INJECTION}`,
            clientId: 'dex',
            clientSecretRef: { name: 'github-oauth-partial', key: 'other' },
          },
        ];
      },
    ),
    badSpec(
      'cluster name carrying a path into the redirect URI',
      /cluster: "local\/\.\.\/\.\.\/evil" is not a cluster name/,
      s => {
        s.cluster = 'local/../../evil';
      },
    ),
    badSpec(
      'Kubernetes version carrying a line break',
      /kubernetesVersion: .*is not a Kubernetes version/,
      s => {
        s.kubernetesVersion = `v1.35.4${FLAG_INJECTION}`;
      },
    ),
    badSpec(
      'groups claim with a space',
      /claims\.groupsClaim: .*is not a claim name/,
      s => {
        s.claims.groupsClaim = 'groups --oidc-username-claim=sub';
      },
    ),
    // --- claim prefixes: system: always, empty unless the platform allows it
    badSpec(
      'groups prefix system:',
      /claims\.groupsPrefix: "system:" starts with system:, which the kube-apiserver reserves/,
      s => {
        s.claims.groupsPrefix = 'system:';
      },
    ),
    badSpec(
      'username prefix system:serviceaccount:',
      /claims\.usernamePrefix: .*starts with system:/,
      s => {
        s.claims.usernamePrefix = 'system:serviceaccount:';
      },
      withPolicy({ allowEmptyClaimPrefixes: true }),
    ),
    badSpec(
      'groups prefix an upstream group completes to system:masters',
      /claims\.groupsPrefix: "syst" is the start of system:/,
      s => {
        s.claims.groupsPrefix = 'syst';
      },
    ),
    badSpec(
      'empty groups prefix (not allowed by default)',
      /claims\.groupsPrefix: an empty groups prefix .*system:masters would be cluster-admin.*dex\.policy\.allowEmptyClaimPrefixes/,
      s => {
        s.claims.groupsPrefix = '';
      },
    ),
    badSpec(
      'empty username prefix (not allowed by default)',
      /claims\.usernamePrefix: an empty username prefix/,
      s => {
        s.claims.usernamePrefix = '';
      },
    ),
    // --- platform policy (dex: config)
    badSpec(
      'namespace kube-system (reserved)',
      /namespace: "kube-system" is one of the cluster's own namespaces .*listing "kube-system" exactly in dex\.policy\.namespaces \(or dex\.clusters\.local\.policy\.namespaces\)/,
      s => {
        s.namespace = 'kube-system';
      },
    ),
    badSpec(
      'namespace kube-system with a policy of *',
      /namespace: "kube-system" is one of the cluster's own namespaces/,
      s => {
        s.namespace = 'kube-system';
      },
      withPolicy({ namespaces: ['*'] }),
    ),
    badSpec(
      'namespace outside the allowed patterns',
      /namespace: namespace "base" is not allowed by the platform on cluster "local": choose one matching "team-\*"/,
      () => {},
      withPolicy({ namespaces: ['team-*'] }),
    ),
    badSpec(
      'Ingress class the platform does not allow',
      /dex\.exposure\.ingress\.className: Ingress class "public" is not allowed by the platform: use one of internal \(dex\.policy\.ingressClasses/,
      s => {
        dexIngress(s).className = 'public';
      },
      withPolicy({ ingressClasses: ['internal'] }),
    ),
    badSpec(
      'server-snippet annotation',
      /dex\.exposure\.ingress\.annotations\["nginx\.ingress\.kubernetes\.io\/server-snippet"\]: .*run configuration or change authentication/,
      s => {
        dexIngress(s).annotations = {
          'nginx.ingress.kubernetes.io/server-snippet':
            'location / { return 200; }',
        };
      },
    ),
    badSpec(
      'configuration-snippet annotation under a wildcard the platform allows',
      /configuration-snippet.*only by listing .* exactly/,
      s => {
        dexIngress(s).annotations = {
          'nginx.ingress.kubernetes.io/configuration-snippet':
            'more_set_headers "x: y";',
        };
      },
      withPolicy({ ingressAnnotations: ['nginx.ingress.kubernetes.io/*'] }),
    ),
    badSpec(
      'auth-url annotation',
      /auth-url.*run configuration or change authentication/,
      s => {
        dexIngress(s).annotations = {
          'nginx.ingress.kubernetes.io/auth-url': 'https://evil.example.test/',
        };
      },
    ),
    badSpec(
      'annotation outside the allow-list',
      /annotation "example\.com\/note" is not allowed by the platform: remove it, or use one matching "cert-manager\.io\/\*"/,
      s => {
        dexIngress(s).annotations = { 'example.com/note': 'x' };
      },
      withPolicy({ ingressAnnotations: ['cert-manager.io/*'] }),
    ),
    badSpec(
      "image registry that is not the platform's",
      /imageRegistry: the image registry is chosen by the platform \(dex\.policy\.imageRegistry\)/,
      s => {
        s.imageRegistry = 'evil.example.test';
      },
    ),
    // --- referenced Secrets: the pack's own, or labelled usable by the platform
    badSpec(
      'connector secretRef naming a Secret the platform did not mark usable',
      /The spec references Secrets it may not read:\n- connectors\[0\]\.clientSecretRef: Secret base\/app-database is not one the platform marked usable by Dex packs \(label dex\.backstage\.io\/usable-by-packs=true\).*give the value in the form instead.*Nothing was applied/s,
      s => {
        s.connectors = githubWith({ name: 'app-database', key: 'password' });
      },
    ),
    badSpec(
      "static user's password in a Secret the platform did not mark usable",
      /staticUsers\[0\]\.passwordRef: Secret base\/app-database is not one the platform marked usable/,
      s => {
        s.staticUsers = userWith({
          passwordRef: { name: 'app-database', key: 'password' },
        });
      },
    ),
    badSpec(
      'connector secretRef with another platform label than the one configured',
      /Secret base\/github-oauth-partial is not one the platform marked usable by Dex packs \(label example\.com\/dex=yes\)/,
      s => {
        s.connectors = githubWith({
          name: 'github-oauth-partial',
          key: 'other',
        });
      },
      withPolicy({
        usableSecretLabel: { key: 'example.com/dex', value: 'yes' },
      }),
    ),
    badSpec(
      'secret input referenced but not given',
      /connectors\[0\]\.clientSecretRef: the secret input "github" was not given \(secretInputs\.github\) and is not stored in Secret base\/dex-secret-inputs; give it in the form/,
      s => {
        s.connectors = githubWith({ name: 'dex-secret-inputs', key: 'github' });
      },
    ),
    badSpec(
      "secret inputs Secret of the installation's name, made by someone else",
      /connectors\[0\]\.clientSecretRef: Secret base\/other-secret-inputs was not made by this installation; ask its owner, or take the installation over \(force\)/,
      s => {
        s.instance = 'other';
        dexIngress(s).hosts = ['other.base.example.test'];
        s.connectors = githubWith({
          name: 'other-secret-inputs',
          key: 'github',
        });
      },
      undefined,
      { secretInputs: { github: INLINE_SECRET } },
    ),
    badSpec(
      'secret input with a key Kubernetes refuses',
      /secretInputs: "not a key" is not a Secret key/,
      () => {},
      undefined,
      {
        secretInputs: { 'not a key': INLINE_SECRET },
      },
    ),
    // --- clusters
    {
      name: 'unknown cluster',
      run: async () => findCluster(clusters, 'prod'),
      messages: [/Unknown cluster "prod"; configured clusters: local/],
    },
    {
      name: 'cluster unreachable (closed port)',
      run: () => via({ url: `https://127.0.0.1:${port}` }),
      messages: [
        /https:\/\/127\.0\.0\.1:\d+.*the cluster is unreachable \(ECONNREFUSED\); check the cluster url and that it is up/,
      ],
    },
    {
      name: 'caData that is not a PEM',
      run: () =>
        via({ caData: Buffer.from('not a certificate').toString('base64') }),
      messages: [
        /Cluster "local": caData is not a base64-encoded PEM certificate; set it to the base64 of the cluster CA's PEM/,
      ],
    },
    {
      name: 'url that is not a URL',
      run: () => via({ url: 'kube apiserver' }),
      messages: [
        /Cluster "local": url "kube apiserver" is not a URL; set it to https:\/\/host:port of the kube-apiserver/,
      ],
    },
    {
      name: "caData of another CA (the apiserver's certificate is not trusted)",
      run: () =>
        via({
          caData: Buffer.from(generateCa('someone else').certPem).toString(
            'base64',
          ),
        }),
      messages: [/certificate.*not trusted.*caData/],
    },
    {
      name: 'wrong service account token',
      run: () => via({ serviceAccountToken: 'not-the-token' }),
      messages: [
        /the cluster rejected the credentials \(401\); check serviceAccountToken/,
      ],
    },
  ];

  it('has at least 30 rows', () => {
    expect(rows.length).toBeGreaterThanOrEqual(30);
  });

  it.each(rows.map(r => [r.name, r] as const))('%s', async (_name, row) => {
    const start = await clusterSnapshot(kc);
    let error: Error | undefined;
    try {
      await row.run();
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeDefined();
    for (const m of row.messages) expect(error!.message).toMatch(m);
    expect(error!.message).not.toContain(INLINE_SECRET);
    expect(error!.message).not.toContain(FOREIGN_SECRET);
    // Nothing written: every object of the kinds the pack uses is where and as it was.
    const after = await clusterSnapshot(kc);
    expect(snapshotDiff(start, after)).toEqual([]);
    expect(after.size).toBe(start.size);
  });

  it("the table's base spec is valid: re-applying it changes nothing", async () => {
    const result = await provisionPack(kc, packSpec(NS));
    expect(result.apply.writes).toBe(0);
    expect(snapshotDiff(before, await clusterSnapshot(kc))).toEqual([]);
  });

  describe('free text that looks like YAML or JSON is rendered as inert strings', () => {
    const injected = (namespace: string) =>
      bad(s => {
        s.namespace = namespace;
        dexIngress(s).hosts = [`dex.${namespace}.example.test`];
        dexIngress(s).annotations = {
          'example.com/yaml': YAML_INJECTION,
          'example.com/json': JSON_INJECTION,
        };
        s.staticClients = [
          {
            id: 'app',
            name: YAML_INJECTION,
            redirectURIs: ['http://localhost:8000/callback'],
          },
        ];
        s.connectors = [
          {
            type: 'github',
            id: 'github',
            name: `GitHub${YAML_INJECTION}${JSON_INJECTION}`,
            clientId: JSON_INJECTION,
            clientSecretRef: { name: 'github-oauth', key: 'client-secret' },
          },
        ];
      });
    const placeholder: PackMaterial = {
      ca: { certPem: 'ca', keyPem: 'key' },
      dexTls: { certPem: 'c', keyPem: 'k' },
      authenticatorTls: { certPem: 'c', keyPem: 'k' },
      clientSecrets: { kubernetes: 's', app: 's' },
      passwordHashes: {},
    };

    it('renders one YAML document per object, and the values round-trip', () => {
      const objects = render(injected('inert'), placeholder);
      const docs = YAML.parseAllDocuments(toYaml(objects));
      expect(docs.map(d => (d.toJS() as { kind: string }).kind)).toEqual(
        objects.map(o => o.kind),
      );
      const ingress = docs.map(d => d.toJS()).find(o => o.kind === 'Ingress');
      expect(ingress.metadata.annotations).toEqual({
        'example.com/yaml': YAML_INJECTION,
        'example.com/json': JSON_INJECTION,
      });
      const config = objects.find(
        o => o.metadata.name === 'dex-config',
      ) as unknown as { data: Record<string, string> };
      const configYaml = Buffer.from(
        config.data['config.yaml'],
        'base64',
      ).toString('utf8');
      expect(YAML.parseAllDocuments(configYaml)).toHaveLength(1);
      const dex = YAML.parse(configYaml);
      expect(dex.connectors[0].name).toBe(
        `GitHub${YAML_INJECTION}${JSON_INJECTION}`,
      );
      expect(dex.connectors[0].config.clientID).toBe(JSON_INJECTION);
      expect(dex.staticClients[1].name).toBe(YAML_INJECTION);
      expect(Object.keys(dex).sort()).toEqual([
        'connectors',
        'expiry',
        'issuer',
        'oauth2',
        'staticClients',
        'storage',
        'telemetry',
        'web',
      ]);
    });

    it('applies to the cluster without an extra object, and the values read back unchanged', async () => {
      await createNamespace(kc, 'inert');
      await createSecret(kc, 'inert', 'github-oauth', {
        'client-secret': 'gh',
      });
      const start = await clusterSnapshot(kc);
      const result = await provisionPack(kc, injected('inert'));
      const after = await clusterSnapshot(kc);
      const added = snapshotDiff(start, after).filter(d =>
        d.startsWith('added '),
      );
      // Exactly the rendered objects were added (the namespace existed already, Dex's shared CRDs
      // when an earlier run on this cluster made them); nothing named "injected".
      const created = new Set(
        result.apply.objects
          .filter(o => o.action === 'create')
          .map(o => `${o.kind}/${o.name}`),
      );
      expect(added.sort()).toEqual(
        result.objects
          .filter(
            o =>
              o.kind !== 'Namespace' &&
              (o.kind !== 'CustomResourceDefinition' ||
                created.has(`${o.kind}/${o.metadata.name}`)),
          )
          .map(
            o =>
              `added ${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`,
          )
          .sort(),
      );
      expect([...after.keys()].filter(k => k.includes('injected'))).toEqual([]);
      const k8s = await clientNode();
      const ing = await kc
        .makeApiClient(k8s.NetworkingV1Api)
        .readNamespacedIngress({ name: 'dex', namespace: 'inert' });
      expect(ing.metadata?.annotations?.['example.com/yaml']).toBe(
        YAML_INJECTION,
      );
      expect(ing.metadata?.annotations?.['example.com/json']).toBe(
        JSON_INJECTION,
      );
      const config = YAML.parse(
        secretValue(
          await readSecret(kc, 'inert', 'dex-config'),
          'config.yaml',
        )!,
      );
      expect(config.connectors[0].name).toBe(
        `GitHub${YAML_INJECTION}${JSON_INJECTION}`,
      );
    });
  });
});
