import path from 'node:path/posix';
import { InputError } from '@backstage/errors';
import { ApiServerSettings, PackSpec } from '@backstage-dex/plugin-dex-common';

/** A file kubeadm's bootstrap writes on every control-plane node (KubeadmConfigSpec `files`). */
export interface KubeadmFile {
  path: string;
  content: string;
  owner: string;
  permissions: string;
}

/** What the pack sets on a KubeadmControlPlane: kube-apiserver extraArgs and the files they name. */
export interface KubeadmApiServerSettings {
  /** extraArgs by flag name without the leading dashes, e.g. `oidc-issuer-url`. */
  args: Record<string, string>;
  files: KubeadmFile[];
}

/**
 * kubeadm mounts this folder (read-only, volume "k8s-certs") into the kube-apiserver static pod:
 * a file written anywhere else on the node would not be visible to the apiserver without an
 * extra volume.
 */
export const KUBEADM_PKI_DIR = '/etc/kubernetes/pki/';

/** Limits of the KubeadmControlPlane CRD (v1beta2): an arg value, a file path, a file's content. */
const MAX_ARG_VALUE = 1024;
const MAX_PATH = 512;
const MAX_CONTENT = 10240;
const ARG_NAME = /^[a-z][a-z0-9-]*$/;
const SAFE_PATH = /^[A-Za-z0-9._/-]+$/;

/** The kube-apiserver's file path checked: under the kubeadm-mounted pki folder, nothing odd in it. */
export function checkNodePath(field: string, value: string): string {
  const problems: string[] = [];
  if (!value.startsWith(KUBEADM_PKI_DIR)) {
    problems.push(
      `must be under ${KUBEADM_PKI_DIR}, which kubeadm mounts into the kube-apiserver pod`,
    );
  }
  if (
    !SAFE_PATH.test(value) ||
    path.normalize(value) !== value ||
    value.endsWith('/')
  ) {
    problems.push(
      "must be a plain file path (letters, digits, '.', '_', '-', '/'; no '..', '//' or trailing '/')",
    );
  }
  if (value.length > MAX_PATH)
    problems.push(`must be at most ${MAX_PATH} characters`);
  if (problems.length) {
    throw new InputError(
      `${field}: "${value.slice(0, 100)}" ${problems.join('; ')}`,
    );
  }
  return value;
}

/** `--name=value` split, with the name and value checked (they become kube-apiserver flags). */
function parseFlag(flag: string): [string, string] {
  const m = /^--([^=]+)=(.*)$/s.exec(flag);
  if (!m || !ARG_NAME.test(m[1]))
    throw new InputError(`"${flag.slice(0, 100)}" is not a --name=value flag`);
  const [, name, value] = m;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value) || value.length > MAX_ARG_VALUE) {
    throw new InputError(
      `The value of --${name} has control characters or is longer than ${MAX_ARG_VALUE} characters`,
    );
  }
  return [name, value];
}

/**
 * What a KubeadmControlPlane needs so that its kube-apiservers trust the pack's Dex: with `flags`,
 * the `--oidc-*` flags as extraArgs and the pack's CA written at `--oidc-ca-file`; with
 * `authenticationConfiguration` (Kubernetes 1.30+), the AuthenticationConfiguration (CA inline)
 * written beside that CA path and named by `authentication-config`. The two cannot be combined on
 * one kube-apiserver.
 */
export function kubeadmApiServerSettings(
  spec: PackSpec,
  settings: ApiServerSettings,
  authentication: 'flags' | 'authenticationConfiguration',
): KubeadmApiServerSettings {
  const caFile = checkNodePath('apiServerCaFile', spec.apiServerCaFile);
  const file = (
    filePath: string,
    content: string,
    what: string,
  ): KubeadmFile => {
    if (Buffer.byteLength(content) > MAX_CONTENT) {
      throw new InputError(
        `The ${what} is ${Buffer.byteLength(content)} bytes; a KubeadmControlPlane file holds at most ${MAX_CONTENT}`,
      );
    }
    return { path: filePath, content, owner: 'root:root', permissions: '0644' };
  };
  if (authentication === 'authenticationConfiguration') {
    const configFile = checkNodePath(
      'apiServerCaFile',
      path.join(
        path.dirname(caFile),
        `${spec.instance}-authentication-config.yaml`,
      ),
    );
    return {
      args: { 'authentication-config': configFile },
      files: [
        file(
          configFile,
          settings.authenticationConfiguration,
          'AuthenticationConfiguration',
        ),
      ],
    };
  }
  if (!settings.caPem)
    throw new InputError(
      'The pack CA is not known; it is needed for --oidc-ca-file',
    );
  const args: Record<string, string> = {};
  for (const flag of settings.flags) {
    const [name, value] = parseFlag(flag);
    args[name] = value;
  }
  if (args['oidc-ca-file'] !== caFile)
    throw new InputError('--oidc-ca-file differs from apiServerCaFile');
  return { args, files: [file(caFile, settings.caPem, 'pack CA')] };
}
