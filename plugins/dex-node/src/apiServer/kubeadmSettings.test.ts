import { withDefaults } from '@backstage-dex/plugin-dex-common';
import { apiServerSettings } from '../pack/apiServer';
import { checkNodePath, kubeadmApiServerSettings } from './kubeadmSettings';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const spec = (apiServerCaFile?: string) =>
  withDefaults({
    cluster: 'workload',
    namespace: 'dex',
    dex: { issuerUrl: 'https://dex.example.com' },
    kubernetesVersion: 'v1.35.4',
    ...(apiServerCaFile ? { apiServerCaFile } : {}),
  });

describe('kubeadmApiServerSettings', () => {
  it('flags: the --oidc-* flags as extraArgs and the CA written at --oidc-ca-file', () => {
    const s = spec();
    expect(
      kubeadmApiServerSettings(s, apiServerSettings(s, CA), 'flags'),
    ).toEqual({
      args: {
        'oidc-issuer-url': 'https://dex.example.com',
        'oidc-client-id': 'kubernetes',
        'oidc-ca-file': '/etc/kubernetes/pki/dex-ca.crt',
        'oidc-username-claim': 'email',
        'oidc-groups-claim': 'groups',
        'oidc-groups-prefix': 'oidc:',
      },
      files: [
        {
          path: '/etc/kubernetes/pki/dex-ca.crt',
          content: CA,
          owner: 'root:root',
          permissions: '0644',
        },
      ],
    });
  });

  it('authenticationConfiguration: the config file beside the CA path, named by --authentication-config', () => {
    const s = spec();
    const settings = apiServerSettings(s, CA);
    expect(
      kubeadmApiServerSettings(s, settings, 'authenticationConfiguration'),
    ).toEqual({
      args: {
        'authentication-config':
          '/etc/kubernetes/pki/dex-authentication-config.yaml',
      },
      files: [
        {
          path: '/etc/kubernetes/pki/dex-authentication-config.yaml',
          content: settings.authenticationConfiguration,
          owner: 'root:root',
          permissions: '0644',
        },
      ],
    });
  });

  it.each([
    [
      '/etc/dex/ca.crt',
      'must be under /etc/kubernetes/pki/, which kubeadm mounts into the kube-apiserver pod',
    ],
    ['/etc/kubernetes/pki/../admin.conf', 'must be a plain file path'],
    // The flag itself refuses whitespace first (pack/apiServer.ts); the spec's schema before both.
    ['/etc/kubernetes/pki/dex ca.crt', 'contains whitespace'],
    ['/etc/kubernetes/pki/dex/', 'must be a plain file path'],
  ])('refuses the CA path %s', (value, message) => {
    const s = spec(value);
    expect(() =>
      kubeadmApiServerSettings(s, apiServerSettings(s, CA), 'flags'),
    ).toThrow(message);
    expect(() => checkNodePath('apiServerCaFile', value)).toThrow(
      `apiServerCaFile: "${value}" must`,
    );
  });

  it('refuses a CA larger than a KubeadmControlPlane file holds', () => {
    const s = spec();
    const big = CA.repeat(400);
    expect(() =>
      kubeadmApiServerSettings(s, apiServerSettings(s, big), 'flags'),
    ).toThrow(
      /pack CA is \d+ bytes; a KubeadmControlPlane file holds at most 10240/,
    );
  });
});
