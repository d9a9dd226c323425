import type { DiscoveryApi, FetchApi } from '@backstage/core-plugin-api';
import { ResponseError } from '@backstage/errors';
import type {
  DexClustersResponse,
  DexExposureResponse,
  DexStatusResponse,
  DexVersionsResponse,
} from '@backstage-dex/plugin-dex-common';
import type { DexApi } from './DexApi';

/**
 * {@link DexApi} over HTTP: discovers the dex backend and calls it with the
 * signed-in user's credentials (fetchApi).
 *
 * @public
 */
export class DexClient implements DexApi {
  private readonly discoveryApi: DiscoveryApi;
  private readonly fetchApi: FetchApi;

  constructor(options: { discoveryApi: DiscoveryApi; fetchApi: FetchApi }) {
    this.discoveryApi = options.discoveryApi;
    this.fetchApi = options.fetchApi;
  }

  async getStatus(entityRef: string): Promise<DexStatusResponse> {
    const query = new URLSearchParams({ entityRef });
    return this.get<DexStatusResponse>(`/status?${query}`);
  }

  async getKubeconfig(
    entityRef: string,
    installation: string,
  ): Promise<string> {
    const query = new URLSearchParams({ entityRef, installation });
    const res = await this.request(`/kubeconfig?${query}`);
    return res.text();
  }

  async getVersions(): Promise<DexVersionsResponse> {
    return this.get<DexVersionsResponse>('/versions');
  }

  async getExposure(): Promise<DexExposureResponse> {
    return this.get<DexExposureResponse>('/exposure');
  }

  async getClusters(): Promise<DexClustersResponse> {
    return this.get<DexClustersResponse>('/clusters');
  }

  private async get<T>(path: string): Promise<T> {
    return (await (await this.request(path)).json()) as T;
  }

  private async request(path: string): Promise<Response> {
    const baseUrl = await this.discoveryApi.getBaseUrl('dex');
    const res = await this.fetchApi.fetch(`${baseUrl}${path}`);
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return res;
  }
}
