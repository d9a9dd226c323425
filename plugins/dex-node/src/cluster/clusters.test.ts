import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { findCluster, kubeConfigFor, readClusters } from './clusters';

const configCluster = (extra: JsonObject = {}): JsonObject => ({
  name: 'prod',
  url: 'https://k8s.example.com:6443',
  authProvider: 'serviceAccount',
  serviceAccountToken: 'token',
  ...extra,
});
const locators = (...methods: JsonObject[]) =>
  new ConfigReader({ kubernetes: { clusterLocatorMethods: methods } });

describe('readClusters', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dex-clusters-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  fs.writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: a',
      '  cluster: {server: "https://a.example.com:6443"}',
      '- name: b',
      '  cluster: {server: "https://b.example.com:6443"}',
      'users:',
      '- name: u',
      '  user: {token: t}',
      'contexts:',
      '- name: ctx-a',
      '  context: {cluster: a, user: u}',
      '- name: ctx-b',
      '  context: {cluster: b, user: u}',
      'current-context: ctx-b',
      '',
    ].join('\n'),
  );
  const savedKubeconfig = process.env.KUBECONFIG;
  beforeEach(() => {
    process.env.KUBECONFIG = kubeconfig;
  });
  afterAll(() => {
    process.env.KUBECONFIG = savedKubeconfig;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads config clusters with serviceAccount as the Kubernetes plugin configures them', () => {
    const clusters = readClusters(
      locators({
        type: 'config',
        clusters: [configCluster({ caData: 'Y2E=', skipTLSVerify: true })],
      }),
    );
    expect(clusters).toEqual([
      expect.objectContaining({
        name: 'prod',
        url: 'https://k8s.example.com:6443',
        serviceAccountToken: 'token',
        caData: 'Y2E=',
        skipTLSVerify: true,
      }),
    ]);
  });

  it('never falls back to the local kubeconfig: no clusters configured means none', () => {
    expect(readClusters(new ConfigReader({}))).toEqual([]);
    expect(() =>
      findCluster(readClusters(new ConfigReader({})), 'ctx-b'),
    ).toThrow(
      'Unknown cluster "ctx-b"; configured clusters: (none: configure kubernetes.clusterLocatorMethods)',
    );
  });

  it.each([
    [
      'gke',
      'kubernetes.clusterLocatorMethods[1]: the Dex plugins cannot use clusters of type "gke"',
    ],
    [
      'catalog',
      'kubernetes.clusterLocatorMethods[1]: the Dex plugins cannot use clusters of type "catalog"',
    ],
  ])('refuses locator type %s, naming it', (type, message) => {
    expect(() =>
      readClusters(locators({ type: 'config', clusters: [] }, { type })),
    ).toThrow(message);
  });

  it.each(['google', 'aws', 'oidc', 'azure'])(
    'refuses authProvider %s, naming it and the cluster',
    authProvider => {
      expect(() =>
        readClusters(
          locators({
            type: 'config',
            clusters: [configCluster({ authProvider })],
          }),
        ),
      ).toThrow(
        `kubernetes.clusterLocatorMethods[0].clusters[0] ("prod"): the Dex plugins cannot use authProvider "${authProvider}"`,
      );
    },
  );

  it('requires authProvider, as the Kubernetes plugin does', () => {
    expect(() =>
      readClusters(
        locators({
          type: 'config',
          clusters: [configCluster({ authProvider: null })],
        }),
      ),
    ).toThrow(/authProvider/);
  });

  it('reads localKubectlProxy as the Kubernetes plugin does: cluster "local" at http://localhost:8001', async () => {
    const [local] = readClusters(locators({ type: 'localKubectlProxy' }));
    expect(local).toMatchObject({
      name: 'local',
      url: 'http://localhost:8001',
      authProvider: 'localKubectlProxy',
    });
    const kc = await kubeConfigFor(local);
    expect(kc.getCurrentCluster()?.server).toBe('http://localhost:8001');
    expect(kc.getCurrentUser()?.token).toBeUndefined();
  });

  it("uses the kubeconfig's current context only when dex.useLocalKubeconfig is true", async () => {
    const clusters = readClusters(
      new ConfigReader({ dex: { useLocalKubeconfig: true } }),
    );
    expect(clusters.map(c => c.name)).toEqual(['local']);
    const kc = await kubeConfigFor(clusters[0]);
    expect(kc.getCurrentContext()).toBe('ctx-b');
    expect(kc.getCurrentCluster()?.server).toBe('https://b.example.com:6443');
  });

  it('says what to do when dex.useLocalKubeconfig finds no kubeconfig', () => {
    process.env.KUBECONFIG = path.join(dir, 'missing');
    expect(() =>
      readClusters(new ConfigReader({ dex: { useLocalKubeconfig: true } })),
    ).toThrow(
      `dex.useLocalKubeconfig is true, but there is no kubeconfig at ${path.join(dir, 'missing')}; set KUBECONFIG or remove the setting`,
    );
  });

  it('refuses two clusters of one name', () => {
    expect(() =>
      readClusters(
        locators(
          { type: 'config', clusters: [configCluster({ name: 'local' })] },
          { type: 'localKubectlProxy' },
        ),
      ),
    ).toThrow('Two clusters are named "local"');
  });

  it('refuses a serviceAccount cluster without a token outside a pod, naming the setting', async () => {
    const [prod] = readClusters(
      locators({
        type: 'config',
        clusters: [
          { ...configCluster(), serviceAccountToken: undefined } as JsonObject,
        ],
      }),
    );
    await expect(kubeConfigFor(prod)).rejects.toThrow(
      /Cluster "prod" has no serviceAccountToken .*set serviceAccountToken/,
    );
  });
});
