import YAML from 'yaml';
import { LocalCluster, startLocalCluster } from '@backstage-dex/local-cluster';
import type {
  KubeConfig,
  KubernetesObject,
  V1Secret,
} from '@kubernetes/client-node';
import { ClusterClient, clusterClient } from '../cluster/client';
import { clientNode } from '../cluster/clientNode';
import { provisionPack } from '../provision';
import {
  adminKubeConfig,
  clusterSnapshot,
  expectConsistentPack,
  packSpec,
  readSecret,
  secretValue,
} from './helpers';

jest.setTimeout(150_000);

const NS = 'faulty';
/** Objects others derive from: written first, and never to be rotated by a re-run. */
const MATERIAL = ['dex-ca', 'dex-tls', 'dex-clients', 'dex-authenticator-tls'];

async function secretsIn(
  kc: KubeConfig,
  namespace: string,
): Promise<Map<string, V1Secret>> {
  const k8s = await clientNode();
  const list = await kc
    .makeApiClient(k8s.CoreV1Api)
    .listNamespacedSecret({ namespace });
  return new Map(list.items.map(s => [s.metadata!.name!, s]));
}

const hasData = (s: V1Secret | undefined) =>
  Object.values(s?.data ?? {}).some(v => v !== '');

describe('faults', () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;

  beforeAll(async () => {
    cluster = await startLocalCluster();
    kc = await adminKubeConfig(cluster);
  });
  afterAll(() => cluster?.stop());

  it('the apiserver going down in the middle of an apply fails clearly; the re-run converges and keeps what was written', async () => {
    // The outage starts when the 2nd Secret has been written: the apiserver is stopped, and
    // writes sent from then on wait until it is down (requests already in flight race it, as in
    // a real outage).
    let outage: Promise<void> | undefined;
    const real = clusterClient(kc);
    const waitForOutage = async () => {
      if (outage) await outage;
    };
    const faulty: ClusterClient = {
      ...real,
      create: (object, options) =>
        waitForOutage().then(() => real.create(object, options)),
      apply: (object, options) =>
        waitForOutage().then(() => real.apply(object, options)),
    };
    const lines: string[] = [];
    const log = (line: string) => {
      lines.push(line);
      if (
        !outage &&
        lines.filter(l => l.startsWith('create Secret/')).length === 2
      )
        outage = cluster.stopApiServer();
    };

    const failed = await provisionPack(faulty, packSpec(NS), { log }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(outage).toBeDefined();
    expect(failed?.message).toMatch(
      /^applying \S+: the cluster is unreachable \((ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET)\); check the cluster url and that it is up( \(\d+ more failed[^)]*\))?\. Written: .*\. Not written: .*\. .*run again to apply the rest\.$/,
    );

    await outage;
    await cluster.startApiServer();

    // What the failed run wrote: at least the namespace and two more objects, not the whole pack.
    const written = lines
      .filter(l => l.startsWith('create '))
      .map(l => l.slice('create '.length))
      .filter(k => !k.startsWith('CustomResourceDefinition/'));
    expect(written.length).toBeGreaterThanOrEqual(3);
    // The Namespace before anything in it (cluster-scoped objects may go beside it).
    const namespaceAt = written.indexOf(`Namespace/${NS}`);
    expect(namespaceAt).toBeGreaterThanOrEqual(0);
    expect(
      written.slice(0, namespaceAt).filter(k => k.split('/').length === 3),
    ).toEqual([]);
    const afterFault = await secretsIn(kc, NS);
    const present = await clusterSnapshot(kc);
    // What the error says was written is there (objectKey: Kind/namespace/name, or Kind/name).
    const reported = /Written: (.*?)\. Not written/
      .exec(failed!.message)![1]
      .split(', ');
    const snapshotKey = (key: string) =>
      key.split('/').length === 2 ? key.replace('/', '//') : key;
    expect(reported.filter(k => !present.has(snapshotKey(k)))).toEqual([]);
    expect(reported).toContain(`Namespace/${NS}`);
    const packKeys = (
      await provisionPack(kc, packSpec(NS), { dryRun: true })
    ).objects.map(
      o => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`,
    );
    expect(packKeys.filter(k => !present.has(k)).length).toBeGreaterThan(0);
    // Material first: nothing that embeds the CA or a client secret (Secrets, ConfigMaps,
    // Deployments with config checksums) was written before all of it.
    const derived = packKeys.filter(
      k =>
        /^(Secret|ConfigMap|Deployment)\//.test(k) &&
        !MATERIAL.some(m => k === `Secret/${NS}/${m}`),
    );
    const derivedWritten = derived.filter(k => present.has(k));
    const materialMissing = MATERIAL.filter(m => !hasData(afterFault.get(m)));
    expect(derivedWritten.length ? materialMissing : []).toEqual([]);
    const writtenMaterial = MATERIAL.filter(m => hasData(afterFault.get(m)));
    expect(writtenMaterial.length).toBeGreaterThanOrEqual(2);

    // The re-run: the full pack, one consistent whole, and nothing that was written is rotated.
    const rerun = await provisionPack(kc, packSpec(NS));
    const complete = await clusterSnapshot(kc);
    expect(
      rerun.objects
        .map(o => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)
        .filter(k => !complete.has(k)),
    ).toEqual([]);
    const pack = await expectConsistentPack(kc, NS);
    const afterRerun = await secretsIn(kc, NS);
    for (const m of writtenMaterial)
      expect({ m, data: afterRerun.get(m)!.data }).toEqual({
        m,
        data: afterFault.get(m)!.data,
      });
    // The CA and client secret: the ones written before the fault, when they were.
    const originalCa = writtenMaterial.includes('dex-ca')
      ? secretValue(afterFault.get('dex-ca')!, 'tls.crt')
      : undefined;
    const originalClientSecret = writtenMaterial.includes('dex-clients')
      ? secretValue(afterFault.get('dex-clients')!, 'kubernetes')
      : undefined;
    expect(rerun.caPem).toBe(originalCa ?? pack.caPem);
    expect(rerun.caPem).toBe(pack.caPem);
    expect(rerun.generated.some(g => g.startsWith('CA'))).toBe(
      originalCa === undefined,
    );
    expect(pack.clientSecret).toBe(originalClientSecret ?? pack.clientSecret);
    // And once more: nothing left to do.
    expect((await provisionPack(kc, packSpec(NS))).apply.writes).toBe(0);
  });

  it("Dex's config Secret edited by hand: the dry run shows the drift, the re-run restores it and says so", async () => {
    const k8s = await clientNode();
    const ns = 'edited';
    await provisionPack(kc, packSpec(ns));
    const before = await readSecret(kc, ns, 'dex-config');
    const config = YAML.parse(secretValue(before, 'config.yaml')!);
    config.expiry.idTokens = '720h';
    config.staticClients.push({
      id: 'backdoor',
      secret: 'hand-made',
      redirectURIs: ['https://evil.example.test/cb'],
    });
    const api = k8s.KubernetesObjectApi.makeApiClient(kc);
    await api.patch(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'dex-config', namespace: ns },
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
    const edited = await readSecret(kc, ns, 'dex-config');
    expect(edited.metadata?.managedFields?.map(f => f.manager)).toContain(
      'kubectl-edit',
    );

    const dry = await provisionPack(kc, packSpec(ns), { dryRun: true });
    const changed = dry.apply.objects.filter(o => o.action !== 'unchanged');
    expect(changed).toEqual([
      {
        kind: 'Secret',
        name: 'dex-config',
        namespace: ns,
        action: 'update',
        fields: ['data.config.yaml'],
      },
    ]);
    expect(
      (await readSecret(kc, ns, 'dex-config')).metadata?.resourceVersion,
    ).toBe(edited.metadata?.resourceVersion);

    const lines: string[] = [];
    const fixed = await provisionPack(kc, packSpec(ns), {
      log: l => lines.push(l),
    });
    expect(fixed.apply.objects.filter(o => o.action !== 'unchanged')).toEqual(
      changed,
    );
    expect(fixed.apply.writes).toBe(1);
    expect(lines).toContain(
      `update Secret/${ns}/dex-config (data.config.yaml)`,
    );
    const restored = await readSecret(kc, ns, 'dex-config');
    const rendered = fixed.objects.find(
      o => o.kind === 'Secret' && o.metadata.name === 'dex-config',
    ) as unknown as { data: Record<string, string> };
    expect(restored.data).toEqual(rendered.data);
    expect(restored.data).toEqual(before.data);
    expect(secretValue(restored, 'config.yaml')).not.toContain('backdoor');
    // The hand edit's manager no longer owns the config: the next run has nothing to do.
    expect((await provisionPack(kc, packSpec(ns))).apply.writes).toBe(0);
  });
});
