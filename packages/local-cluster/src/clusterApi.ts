import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

const CRDS_ARCHIVE = 'cluster-api-v1.14.0-crds.tar.gz';
const KCP_CRD = 'cluster-api-v1.14.0-crds/controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml';

/**
 * The project's shared peers folder (the steering repo's shared/peers, beside the clone):
 * $DEX_PEERS_DIR, else the first `shared/peers` found going up from this package.
 */
export function peersDir(): string {
  if (process.env.DEX_PEERS_DIR) return process.env.DEX_PEERS_DIR;
  // A private package that only ever runs from its source folder (tests, npm start), never bundled.
  // eslint-disable-next-line no-restricted-syntax
  const here = __dirname;
  for (let dir = here; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'shared', 'peers');
    if (fs.existsSync(path.join(candidate, CRDS_ARCHIVE))) return candidate;
    if (path.dirname(dir) === dir) {
      throw new Error(
        `No shared/peers/${CRDS_ARCHIVE} above ${here} (it sits beside the clone); set DEX_PEERS_DIR to the folder that holds it`,
      );
    }
  }
}

/**
 * Cluster API v1.14.0's KubeadmControlPlane CRD, as the archive in shared/peers holds it, made
 * servable without Cluster API's conversion webhook: only `served` is one version, and that
 * version stores. `v1beta2` is Cluster API 1.11+ (extraArgs as a list of name/value);
 * `v1beta1` stands for an older management cluster, where v1beta1 was the stored version
 * (extraArgs as a map).
 */
export function kubeadmControlPlaneCrd(version: 'v1beta2' | 'v1beta1'): Record<string, any> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'capi-crds-'));
  try {
    execFileSync('tar', ['-xzf', path.join(peersDir(), CRDS_ARCHIVE), '-C', work, KCP_CRD]);
    const crd = YAML.parse(fs.readFileSync(path.join(work, KCP_CRD), 'utf8'));
    crd.spec.versions = crd.spec.versions
      .filter((v: { name: string }) => v.name === version)
      .map((v: Record<string, unknown>) => ({ ...v, served: true, storage: true }));
    if (!crd.spec.versions.length) throw new Error(`The KubeadmControlPlane CRD has no version ${version}`);
    return crd;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
