import YAML from 'yaml';

/** What a kubeconfig for one installation needs: where the cluster is, and where to log in. */
export interface KubeloginKubeconfigOptions {
  /** Configured cluster name; names the cluster, user and context entries. */
  clusterName: string;
  /** The kube-apiserver's URL (https). */
  server: string;
  /** PEM of the CA of the kube-apiserver's serving certificate; absent: the system's trust store. */
  serverCaPem?: string;
  /** Dex's issuer URL (https). */
  issuerUrl: string;
  /** The public client kubelogin logs in with (no secret). */
  kubectlClientId: string;
  /** The kube-apiserver's --oidc-client-id: the audience the token must carry. */
  audience: string;
  /** PEM of the pack's CA, which signed Dex's serving certificate. */
  issuerCaPem: string;
  /** Names the user and context entries, e.g. the installation's instance. */
  instance: string;
}

function base64(pem: string): string {
  return Buffer.from(pem).toString('base64');
}

/**
 * A kubeconfig whose user runs kubelogin (`kubectl oidc-login get-token`) against the pack's Dex:
 * a public client and the pack's CA, so it holds no secret at all. The token's audience is the
 * kube-apiserver's client id, asked for with Dex's cross-client scope (the pack's client trusts
 * the public one as a peer).
 */
export function kubeloginKubeconfig(
  options: KubeloginKubeconfigOptions,
): string {
  const name = `${options.clusterName}-${options.instance}`;
  const args = [
    'oidc-login',
    'get-token',
    `--oidc-issuer-url=${options.issuerUrl}`,
    `--oidc-client-id=${options.kubectlClientId}`,
    // email: the default username claim; groups: the groups claim; offline_access: a refresh
    // token, so kubelogin does not send the user to the browser every time the ID token expires.
    '--oidc-extra-scope=email',
    '--oidc-extra-scope=groups',
    '--oidc-extra-scope=offline_access',
    `--oidc-extra-scope=audience:server:client_id:${options.audience}`,
    `--certificate-authority-data=${base64(options.issuerCaPem)}`,
  ];
  return YAML.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: options.clusterName,
          cluster: {
            server: options.server,
            ...(options.serverCaPem
              ? { 'certificate-authority-data': base64(options.serverCaPem) }
              : {}),
          },
        },
      ],
      users: [
        {
          name,
          user: {
            exec: {
              apiVersion: 'client.authentication.k8s.io/v1',
              command: 'kubectl',
              args,
              interactiveMode: 'IfAvailable',
              provideClusterInfo: false,
              installHint:
                'kubelogin is needed: https://github.com/int128/kubelogin#setup (kubectl krew install oidc-login)',
            },
          },
        },
      ],
      contexts: [
        { name, context: { cluster: options.clusterName, user: name } },
      ],
      'current-context': name,
      preferences: {},
    },
    { lineWidth: 0 },
  );
}
