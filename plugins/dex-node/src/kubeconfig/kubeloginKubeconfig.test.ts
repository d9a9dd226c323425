import YAML from 'yaml';
import { kubeloginKubeconfig } from './kubeloginKubeconfig';

const ISSUER_CA =
  '-----BEGIN CERTIFICATE-----\nissuer\n-----END CERTIFICATE-----\n';
const SERVER_CA =
  '-----BEGIN CERTIFICATE-----\nserver\n-----END CERTIFICATE-----\n';

describe('kubeloginKubeconfig', () => {
  const options = {
    clusterName: 'prod-eu',
    server: 'https://10.0.0.1:6443',
    serverCaPem: SERVER_CA,
    issuerUrl: 'https://dex.example.com/dex',
    kubectlClientId: 'kubectl',
    audience: 'kubernetes',
    issuerCaPem: ISSUER_CA,
    instance: 'dex',
  };

  it('runs kubelogin with the public client, the pack CA and the kube-apiserver audience', () => {
    const config = YAML.parse(kubeloginKubeconfig(options));
    expect(config.clusters).toEqual([
      {
        name: 'prod-eu',
        cluster: {
          server: 'https://10.0.0.1:6443',
          'certificate-authority-data':
            Buffer.from(SERVER_CA).toString('base64'),
        },
      },
    ]);
    expect(config['current-context']).toBe('prod-eu-dex');
    expect(config.contexts).toEqual([
      {
        name: 'prod-eu-dex',
        context: { cluster: 'prod-eu', user: 'prod-eu-dex' },
      },
    ]);
    const exec = config.users[0].user.exec;
    expect(exec.apiVersion).toBe('client.authentication.k8s.io/v1');
    expect(exec.command).toBe('kubectl');
    expect(exec.args).toEqual([
      'oidc-login',
      'get-token',
      '--oidc-issuer-url=https://dex.example.com/dex',
      '--oidc-client-id=kubectl',
      '--oidc-extra-scope=email',
      '--oidc-extra-scope=groups',
      '--oidc-extra-scope=offline_access',
      '--oidc-extra-scope=audience:server:client_id:kubernetes',
      `--certificate-authority-data=${Buffer.from(ISSUER_CA).toString('base64')}`,
    ]);
  });

  it('holds no client secret and no token', () => {
    const text = kubeloginKubeconfig(options);
    expect(text).not.toMatch(/secret|token:|password/i);
  });

  it('leaves the server CA to the system trust store when the cluster names none', () => {
    const config = YAML.parse(
      kubeloginKubeconfig({ ...options, serverCaPem: undefined }),
    );
    expect(config.clusters[0].cluster).toEqual({
      server: 'https://10.0.0.1:6443',
    });
  });
});
