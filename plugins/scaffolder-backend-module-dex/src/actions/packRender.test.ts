import fs from 'node:fs';
import path from 'node:path';
import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { Validator } from 'jsonschema';
import yaml from 'yaml';
import { runAction } from '../__testUtils__/mockContext';
import { createDexPackRenderAction, RENDERED_FILES } from './packRender';

// Certificates are signed in pure JS (node-forge), which is slow under jest.
jest.setTimeout(60_000);

const CA_PEM =
  '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAKHBfpegPjMCMA0GCSqGSIb3DQEBCwUAMBExDzANBgNVBAMMBnRl\n-----END CERTIFICATE-----\n';

describe('dex:pack:render', () => {
  const action = createDexPackRenderAction({
    config: new ConfigReader({
      kubernetes: {
        clusterLocatorMethods: [
          {
            type: 'config',
            clusters: [
              {
                name: 'prod',
                url: 'https://kube.prod.example.test:6443',
                authProvider: 'serviceAccount',
                serviceAccountToken: 't',
                caData: Buffer.from(CA_PEM).toString('base64'),
              },
            ],
          },
        ],
      },
    }),
  });

  async function authenticatorCluster(input: JsonObject) {
    const { ctx } = await runAction(action, { input });
    const docs = yaml
      .parseAllDocuments(
        fs.readFileSync(
          path.join(ctx.workspacePath, RENDERED_FILES.manifests),
          'utf8',
        ),
      )
      .map(d => d.toJS());
    const configMap = docs.find(
      d => d.kind === 'ConfigMap' && d.metadata.name === 'dex-authenticator',
    );
    return yaml.parse(configMap.data['config.yaml']).clusters[0];
  }

  it("points the authenticator's kubeconfigs at the configured cluster's url and CA", async () => {
    const cluster = await authenticatorCluster({ cluster: 'prod' });
    expect({ uri: cluster.k8s_master_uri, ca: cluster.k8s_ca_pem }).toEqual({
      uri: 'https://kube.prod.example.test:6443',
      ca: CA_PEM,
    });
  });

  it('keeps an apiServerUrl given in the input', async () => {
    const cluster = await authenticatorCluster({
      cluster: 'prod',
      authenticator: { apiServerUrl: 'https://api.example.test' },
    });
    expect({ uri: cluster.k8s_master_uri, ca: cluster.k8s_ca_pem }).toEqual({
      uri: 'https://api.example.test',
      ca: CA_PEM,
    });
  });

  it('refuses a LoadBalancer without a URL: the address is known only to the cluster', async () => {
    await expect(
      runAction(action, {
        input: {
          cluster: 'prod',
          dex: { exposure: { serviceType: 'LoadBalancer' } },
        },
      }),
    ).rejects.toThrow(
      'dex:pack:render reads no cluster: the URL of Dex comes from the address the cloud assigns to its LoadBalancer, which only the cluster knows: give dex.issuerUrl',
    );
  });

  it('refuses an imageRegistry in the input, saying the platform sets dex.policy.imageRegistry', async () => {
    const input = { cluster: 'prod', imageRegistry: 'evil.example.test' };
    // The scaffolder checks the input against the action's JSON Schema first: it lets the field
    // through, so that the user reads the spec's message, not "additional property".
    expect(
      new Validator()
        .validate(input, action.schema!.input!)
        .errors.map(e => e.stack),
    ).toEqual([]);
    await expect(runAction(action, { input })).rejects.toThrow(
      /imageRegistry: the image registry is chosen by the platform, not in the spec: remove imageRegistry; the platform team sets dex\.policy\.imageRegistry \(or dex\.clusters\.<cluster>\.policy\.imageRegistry\) in app-config/,
    );
  });
});
