import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Install Dex and dex-k8s-authenticator with the platform defaults, owned by a catalog entity (its name labels every object).',
    example: yaml.stringify({
      steps: [
        {
          id: 'dex',
          action: 'dex:pack:apply',
          name: 'Install Dex',
          input: {
            cluster: 'production',
            namespace: 'dex',
            entityRef: 'component:default/payments-api',
          },
        },
      ],
    }),
  },
  {
    description:
      'Expose Dex and the authenticator through Ingresses with TLS, pinning the versions and naming the kube-apiserver URL the kubeconfigs use.',
    example: yaml.stringify({
      steps: [
        {
          id: 'dex',
          action: 'dex:pack:apply',
          name: 'Install Dex behind an Ingress',
          input: {
            cluster: 'production',
            entityRef: 'component:default/payments-api',
            namespace: 'payments-dex',
            instance: 'payments',
            kubernetesId: 'payments-api',
            dex: {
              version: '2.45.1',
              exposure: {
                serviceType: 'ClusterIP',
                ingress: {
                  enabled: true,
                  className: 'nginx',
                  hosts: ['dex.payments.example.com'],
                  tlsSecretName: 'dex-payments-example-com-tls',
                  annotations: {
                    'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
                  },
                },
              },
            },
            authenticator: {
              enabled: true,
              version: '1.4.0',
              exposure: {
                ingress: {
                  enabled: true,
                  className: 'nginx',
                  hosts: ['login.payments.example.com'],
                },
              },
              apiServerUrl: 'https://api.payments.example.com:6443',
            },
          },
        },
      ],
    }),
  },
  {
    description:
      "Expose Dex through a LoadBalancer, log in with GitHub (its client secret in a Secret the platform labelled usable by Dex packs), and add a static test user whose password comes from the template's secret field: the action stores it in the installation's Secret dex-secret-inputs.",
    example: yaml.stringify({
      steps: [
        {
          id: 'dex',
          action: 'dex:pack:apply',
          name: 'Install Dex with GitHub login',
          input: {
            cluster: 'production',
            entityRef: 'component:default/payments-api',
            namespace: 'dex-github',
            dex: {
              issuerUrl: 'https://dex.example.com:5556/dex',
              exposure: {
                serviceType: 'LoadBalancer',
                extraNames: ['dex.example.com'],
              },
            },
            authenticator: { enabled: false },
            connectors: [
              {
                type: 'github',
                id: 'github',
                name: 'GitHub',
                clientId: 'Iv1.0123456789abcdef',
                clientSecretRef: { name: 'github-oauth', key: 'client-secret' },
                orgs: ['example-org'],
              },
            ],
            staticUsers: [
              {
                email: 'tester@example.com',
                username: 'tester',
                passwordRef: { name: 'dex-secret-inputs', key: 'tester' },
              },
            ],
            secretInputs: { tester: '${{ secrets.testUserPassword }}' },
            claims: {
              usernameClaim: 'email',
              groupsClaim: 'groups',
              groupsPrefix: 'github:',
            },
          },
        },
      ],
    }),
  },
  {
    description:
      'Rotate the CA and serving certificates of an existing installation (client secrets are kept).',
    example: yaml.stringify({
      steps: [
        {
          id: 'rotate',
          action: 'dex:pack:apply',
          name: 'Rotate the Dex certificates',
          input: {
            cluster: 'production',
            namespace: 'dex',
            entityRef: 'component:default/payments-api',
            rotateCertificates: true,
          },
        },
      ],
    }),
  },
  {
    description:
      'Take over objects of the same name that another tool created (for example a previous manual install).',
    example: yaml.stringify({
      steps: [
        {
          id: 'dex',
          action: 'dex:pack:apply',
          name: 'Adopt an existing Dex install',
          input: {
            cluster: 'production',
            entityRef: 'component:default/payments-api',
            namespace: 'legacy-dex',
            force: true,
          },
        },
      ],
    }),
  },
];
