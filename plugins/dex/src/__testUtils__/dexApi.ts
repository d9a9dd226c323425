import type { DexApi } from '../api';

/** A DexApi whose every method is a jest mock; `overrides` give the answers a test needs. */
export function fakeDexApi(overrides: Partial<DexApi> = {}): DexApi {
  return {
    getStatus: jest.fn(),
    getVersions: jest.fn(),
    getClusters: jest.fn(),
    getKubeconfig: jest.fn(),
    getExposure: jest.fn(),
    ...overrides,
  };
}
