import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { sourceFolders } from './binaries';
import { ownedWorkDir } from './workDir';

const CRDS_ARCHIVE = 'cluster-api-v1.14.0-crds.tar.gz';
const KCP_CRD =
  'cluster-api-v1.14.0-crds/controlplane/kubeadm/config/crd/bases/controlplane.cluster.x-k8s.io_kubeadmcontrolplanes.yaml';

/**
 * The project's shared peers folder that holds the Cluster API CRD archive: the first of
 * `sourceFolders()` (the one definition of where shared/peers is: $LOCAL_CLUSTER_SOURCES or
 * $DEX_PEERS_DIR, else `shared/peers` beside the clone or above it, or beside a worktree's main
 * checkout) that has it.
 */
export function peersDir(): string {
  const folders = sourceFolders();
  const found = folders.find(f => fs.existsSync(path.join(f, CRDS_ARCHIVE)));
  if (!found) {
    throw new Error(
      `No ${CRDS_ARCHIVE} in ${folders.join(' or ')} (shared/peers sits beside the clone); set LOCAL_CLUSTER_SOURCES to the folder that holds it`,
    );
  }
  return found;
}

/**
 * Cluster API v1.14.0's KubeadmControlPlane CRD, as the archive in shared/peers holds it, made
 * servable without Cluster API's conversion webhook: only `served` is one version, and that
 * version stores. `v1beta2` is Cluster API 1.11+ (extraArgs as a list of name/value);
 * `v1beta1` stands for an older management cluster, where v1beta1 was the stored version
 * (extraArgs as a map).
 */
export function kubeadmControlPlaneCrd(
  version: 'v1beta2' | 'v1beta1',
): Record<string, any> {
  const work = ownedWorkDir('capi-crds-');
  try {
    execFileSync('tar', [
      '-xzf',
      path.join(peersDir(), CRDS_ARCHIVE),
      '-C',
      work,
      KCP_CRD,
    ]);
    const crd = YAML.parse(fs.readFileSync(path.join(work, KCP_CRD), 'utf8'));
    crd.spec.versions = crd.spec.versions
      .filter((v: { name: string }) => v.name === version)
      .map((v: Record<string, unknown>) => ({
        ...v,
        served: true,
        storage: true,
      }));
    if (!crd.spec.versions.length)
      throw new Error(`The KubeadmControlPlane CRD has no version ${version}`);
    return crd;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
