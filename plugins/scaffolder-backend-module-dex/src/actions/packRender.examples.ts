import { TemplateExample } from '@backstage/plugin-scaffolder-node';
import yaml from 'yaml';

export const examples: TemplateExample[] = [
  {
    description:
      'Render the pack into the workspace, e.g. to publish it to a GitOps repository with publish:github:pull-request.',
    example: yaml.stringify({
      steps: [
        {
          id: 'render',
          action: 'dex:pack:render',
          name: 'Render the Dex pack',
          input: {
            cluster: 'production',
            namespace: 'dex',
            entityRef: 'component:default/payments-api',
            kubernetesVersion: 'v1.35.4',
            targetPath: 'clusters/production/dex',
          },
        },
      ],
    }),
  },
  {
    description:
      'Render a pack exposed through Ingresses, with a static test user given by bcrypt hash (render reads no Secrets).',
    example: yaml.stringify({
      steps: [
        {
          id: 'render',
          action: 'dex:pack:render',
          name: 'Render the Dex pack',
          input: {
            cluster: 'staging',
            namespace: 'dex',
            dex: {
              exposure: {
                ingress: {
                  enabled: true,
                  className: 'nginx',
                  hosts: ['dex.staging.example.com'],
                },
              },
            },
            authenticator: {
              exposure: {
                ingress: {
                  enabled: true,
                  className: 'nginx',
                  hosts: ['login.staging.example.com'],
                },
              },
            },
            staticUsers: [
              {
                email: 'tester@example.com',
                username: 'tester',
                hash: '$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W',
              },
            ],
          },
        },
      ],
    }),
  },
];
