import { ResponseError } from '@backstage/errors';
import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import type { DexStatusResponse } from '@backstage-dex/plugin-dex-common';
import { DexClient } from './DexClient';

const baseUrl = 'http://localhost:7007/api/dex';

function jsonResponse(body: unknown, status = 200, statusText = 'OK') {
  return new Response(JSON.stringify(body), {
    status,
    statusText,
    headers: { 'content-type': 'application/json' },
  });
}

function setup(response: Response) {
  const discoveryApi: DiscoveryApi = {
    getBaseUrl: jest.fn(async () => baseUrl),
  };
  const fetch = jest.fn(async (_input: RequestInfo | URL) => response);
  const fetchApi: FetchApi = { fetch: fetch as FetchApi['fetch'] };
  return {
    client: new DexClient({ discoveryApi, fetchApi }),
    discoveryApi,
    fetch,
  };
}

describe('DexClient', () => {
  it('asks the dex backend for the status of an entity, entityRef encoded', async () => {
    const body: DexStatusResponse = {
      entityRef: 'component:default/payments',
      installations: [],
      errors: [],
    };
    const { client, discoveryApi, fetch } = setup(jsonResponse(body));

    await expect(
      client.getStatus('component:default/payments'),
    ).resolves.toEqual(body);
    expect(discoveryApi.getBaseUrl).toHaveBeenCalledWith('dex');
    expect(fetch).toHaveBeenCalledWith(
      `${baseUrl}/status?entityRef=component%3Adefault%2Fpayments`,
    );
  });

  it('reads versions and clusters', async () => {
    const versions = {
      dex: { allowed: ['2.45.1'], default: '2.45.1' },
      authenticator: { allowed: ['1.4.0'], default: '1.4.0' },
    };
    const v = setup(jsonResponse(versions));
    await expect(v.client.getVersions()).resolves.toEqual(versions);
    expect(v.fetch).toHaveBeenCalledWith(`${baseUrl}/versions`);

    const clusters = { clusters: [{ name: 'local' }], default: 'local' };
    const c = setup(jsonResponse(clusters));
    await expect(c.client.getClusters()).resolves.toEqual(clusters);
    expect(c.fetch).toHaveBeenCalledWith(`${baseUrl}/clusters`);
  });

  it('reads a kubeconfig as text, entity and installation encoded', async () => {
    const { client, fetch } = setup(
      new Response('apiVersion: v1\nkind: Config\n', {
        status: 200,
        headers: { 'content-type': 'application/yaml' },
      }),
    );
    await expect(
      client.getKubeconfig('resource:default/local-cluster', 'local/dex/dex'),
    ).resolves.toBe('apiVersion: v1\nkind: Config\n');
    expect(fetch).toHaveBeenCalledWith(
      `${baseUrl}/kubeconfig?entityRef=resource%3Adefault%2Flocal-cluster&installation=local%2Fdex%2Fdex`,
    );
  });

  it('throws a ResponseError carrying the backend error on 403', async () => {
    const { client } = setup(
      jsonResponse(
        {
          error: {
            name: 'NotAllowedError',
            message: 'not allowed to read dex',
          },
          request: { method: 'GET', url: '/api/dex/status' },
          response: { statusCode: 403 },
        },
        403,
        'Forbidden',
      ),
    );

    const error = await client
      .getStatus('component:default/payments')
      .catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.statusCode).toBe(403);
    expect(error.message).toBe('Request failed with 403 Forbidden');
    expect(error.cause).toMatchObject({
      name: 'NotAllowedError',
      message: 'not allowed to read dex',
    });
  });
});
