import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { LocalCluster, ensureBinaries } from '@backstage-dex/local-cluster';
import { PackSpec, withDefaults } from '@backstage-dex/plugin-dex-common';
import {
  KeyPool,
  clientNode,
  generateCa,
  issueServingCertificate,
  prepareMaterial,
  provisionPack,
  render,
  toYaml,
} from '@backstage-dex/plugin-dex-node';
import { Floor, connectFloor } from './floor';
import { HelmPeer } from './helm';
import { Progress, silent } from './progress';
import { median, timed } from './stats';

const run = promisify(execFile);

export function benchSpec(namespace: string, cluster = 'local'): PackSpec {
  return withDefaults({
    cluster,
    namespace,
    kubernetesId: 'bench',
    dex: {
      exposure: {
        serviceType: 'ClusterIP',
        ingress: {
          enabled: true,
          className: 'nginx',
          hosts: [`${namespace}.dex.example.test`],
        },
      },
    },
    authenticator: {
      exposure: {
        serviceType: 'ClusterIP',
        ingress: {
          enabled: true,
          className: 'nginx',
          hosts: [`${namespace}.login.example.test`],
        },
      },
    },
  });
}

/**
 * Unchanged re-runs and reads of the objects per run (their medians are the run's figures): a few
 * ms each, so the machine's noise needs many (with 9, a run's ratio moved from 0.87 to 1.60 and the
 * median of 7 runs from 1.09 to 1.34 between runs of the same code).
 */
export const RERUN_SAMPLES = 41;

export interface ProvisionRow {
  run: number;
  oursMs: number;
  /** Ours without the key pool: keys generated inside the call. */
  oursNoPoolMs: number;
  kubectlMs: number;
  ratio: number;
  /** Median of RERUN_SAMPLES unchanged re-runs. */
  rerunOursMs: number;
  rerunKubectlMs: number;
  rerunRatio: number;
  rerunWrites: number;
  objects: number;
  /** Both Helm charts installed into a fresh namespace (absent when Helm was not measured). */
  helmMs?: number;
  /** The floor: the rendered objects as parallel server-side applies on one HTTP/2 connection. */
  floorMs: number;
  /** The floor of only what ours writes: the rendered objects but Dex's shared CRDs. */
  floorWritesMs: number;
  /**
   * The floor of an unchanged re-run: reading the same objects, in parallel on one connection
   * (median of RERUN_SAMPLES, in turns with the re-runs).
   */
  floorReadMs: number;
}

export interface ProvisionOptions {
  /** Also install the Helm charts each run (builds helm on first use). */
  helm?: HelmPeer;
  progress?: Progress;
  /** Only ours against the floor (BENCH_ONLY=floor): no run without the pool, no kubectl (NaN). */
  floorOnly?: boolean;
}

/**
 * Ours: certificates + render + apply (provisionPack) of the full pack into a fresh namespace.
 * Peer: `kubectl apply --server-side` of the same rendered manifests (for another fresh namespace,
 * with the same material) against the same apiserver, kubectl built from the apiserver's release.
 * Then both again with nothing to change.
 */
export async function benchProvision(
  cluster: LocalCluster,
  runs: number,
  options: ProvisionOptions = {},
): Promise<ProvisionRow[]> {
  const progress = options.progress ?? silent;
  const kubectl = ensureBinaries('kubernetes').kubectl;
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const rows: ProvisionRow[] = [];
  // As the scaffolder module does: RSA keys generated in the background, ahead of the runs.
  const keyPool = new KeyPool();
  await keyPool.settled();
  const floor: Floor = await connectFloor(cluster);
  try {
    for (let i = 0; i < runs; i += 1) {
      progress(`provision run ${i + 1} of ${runs}`);
      const tag = `${process.pid}-${i}`;
      const ours = await timed(() =>
        provisionPack(kc, benchSpec(`ours-${tag}`), { keyPool }),
      );
      // The pool refills after a run; no other measurement shares the CPU with it.
      await keyPool.settled();
      const noPool = options.floorOnly
        ? { ms: NaN }
        : await timed(() => provisionPack(kc, benchSpec(`nopool-${tag}`)));
      const { peer, rerunPeer } = options.floorOnly
        ? { peer: { ms: NaN }, rerunPeer: { ms: NaN } }
        : await benchKubectl(
            cluster,
            kubectl,
            path.join(dir, `pack-${i}.yaml`),
            tag,
          );
      // Certificates and rendering happen before the clock starts: the floor only writes.
      const floorSpec = {
        ...benchSpec(`floor-${tag}`),
        kubernetesVersion: cluster.version,
      };
      const floorObjects = render(
        floorSpec,
        prepareMaterial(floorSpec).material,
      );
      await floor.prepare(floorObjects);
      const floorApply = await timed(() => floor.apply(floorObjects));
      // Dex's CRDs are shared and already on the cluster: ours finds them unchanged and writes
      // none of them. The stricter floor writes only what ours writes, into another namespace.
      const writesSpec = {
        ...benchSpec(`floorw-${tag}`),
        kubernetesVersion: cluster.version,
      };
      const floorWrites = render(
        writesSpec,
        prepareMaterial(writesSpec).material,
      ).filter(o => o.kind !== 'CustomResourceDefinition');
      await floor.prepare(floorWrites);
      const floorWritesApply = await timed(() => floor.apply(floorWrites));
      // An unchanged re-run and reading the objects take a few ms each, less than the machine's
      // noise: each is the median of RERUN_SAMPLES, taken in turns.
      const reruns: number[] = [];
      const reads: number[] = [];
      let rerunWrites = 0;
      const rerun = async () => {
        const r = await timed(() =>
          provisionPack(kc, benchSpec(`ours-${tag}`)),
        );
        reruns.push(r.ms);
        rerunWrites = Math.max(rerunWrites, r.value.apply.writes);
      };
      const read = async () => {
        reads.push((await timed(() => floor.read(floorObjects))).ms);
      };
      // Each goes first in every other pair, so neither always runs after the other's garbage.
      for (let k = 0; k < RERUN_SAMPLES; k += 1) {
        if (k % 2) {
          await read();
          await rerun();
        } else {
          await rerun();
          await read();
        }
      }
      const rerunMs = median(reruns);
      const helm = options.helm;
      const helmRun = helm
        ? await timed(() => helm.install(`helm-${tag}`))
        : undefined;
      rows.push({
        run: i + 1,
        oursMs: ours.ms,
        oursNoPoolMs: noPool.ms,
        kubectlMs: peer.ms,
        ratio: ours.ms / peer.ms,
        rerunOursMs: rerunMs,
        rerunKubectlMs: rerunPeer.ms,
        rerunRatio: rerunMs / rerunPeer.ms,
        rerunWrites,
        objects: ours.value.objects.length,
        helmMs: helmRun?.ms,
        floorMs: floorApply.ms,
        floorWritesMs: floorWritesApply.ms,
        floorReadMs: median(reads),
      });
    }
  } finally {
    floor.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

/** `kubectl apply --server-side` of the rendered pack into a fresh namespace, then again unchanged. */
async function benchKubectl(
  cluster: LocalCluster,
  kubectl: string,
  file: string,
  tag: string,
) {
  const peerSpec = {
    ...benchSpec(`kubectl-${tag}`),
    kubernetesVersion: cluster.version,
  };
  fs.writeFileSync(
    file,
    toYaml(render(peerSpec, prepareMaterial(peerSpec).material)),
  );
  const kubectlApply = () =>
    run(kubectl, [
      '--kubeconfig',
      cluster.kubeconfigPath,
      'apply',
      '--server-side',
      '--field-manager=bench',
      '-f',
      file,
    ]);
  const peer = await timed(kubectlApply);
  const rerunPeer = await timed(kubectlApply);
  return { peer, rerunPeer };
}

export interface CertificateRow {
  caMs: number;
  servingMs: number;
  totalMs: number;
}

/** CA + the two serving certificates (Dex, authenticator), RSA 2048. */
export function benchCertificates(runs: number): CertificateRow[] {
  const rows: CertificateRow[] = [];
  for (let i = 0; i < runs; i += 1) {
    const t0 = performance.now();
    const ca = generateCa('bench CA');
    const t1 = performance.now();
    issueServingCertificate(ca, {
      commonName: 'dex',
      names: ['dex.example.test', 'dex.dex.svc'],
    });
    issueServingCertificate(ca, {
      commonName: 'auth',
      names: ['login.example.test', 'dex-authenticator.dex.svc'],
    });
    const t2 = performance.now();
    rows.push({ caMs: t1 - t0, servingMs: t2 - t1, totalMs: t2 - t0 });
  }
  return rows;
}

export function summarizeProvision(rows: ProvisionRow[]) {
  return {
    ratio: median(rows.map(r => r.ratio)),
    noPoolRatio: median(rows.map(r => r.oursNoPoolMs / r.kubectlMs)),
    oursNoPoolMs: median(rows.map(r => r.oursNoPoolMs)),
    rerunRatio: median(rows.map(r => r.rerunRatio)),
    oursMs: median(rows.map(r => r.oursMs)),
    kubectlMs: median(rows.map(r => r.kubectlMs)),
    rerunOursMs: median(rows.map(r => r.rerunOursMs)),
    rerunKubectlMs: median(rows.map(r => r.rerunKubectlMs)),
    maxRerunWrites: Math.max(...rows.map(r => r.rerunWrites)),
    floorMs: median(rows.map(r => r.floorMs)),
    floorWritesMs: median(rows.map(r => r.floorWritesMs)),
    floorReadMs: median(rows.map(r => r.floorReadMs)),
    /** Ours / floor, and the unchanged re-run / reading the objects: per run, then the median. */
    floorRatio: median(rows.map(r => r.oursMs / r.floorMs)),
    floorWritesRatio: median(rows.map(r => r.oursMs / r.floorWritesMs)),
    rerunReadRatio: median(rows.map(r => r.rerunOursMs / r.floorReadMs)),
    ...helmSummary(rows),
  };
}

function helmSummary(rows: ProvisionRow[]) {
  const measured = rows.filter(r => r.helmMs !== undefined) as (ProvisionRow & {
    helmMs: number;
  })[];
  if (!measured.length) return {};
  return {
    helmMs: median(measured.map(r => r.helmMs)),
    helmRatio: median(measured.map(r => r.oursMs / r.helmMs)),
    helmNoPoolRatio: median(measured.map(r => r.oursNoPoolMs / r.helmMs)),
  };
}
