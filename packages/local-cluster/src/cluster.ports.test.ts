import net from 'node:net';
import { startLocalCluster } from './cluster';
import { httpsRequest } from './https';

jest.setTimeout(180_000);

// Fault injection: the port handed to the apiserver is taken by someone else before the
// apiserver binds it, as happens when another process grabs it in between.
const ports = { taken: 0, handed: [] as number[] };
jest.mock('./process', () => {
  const actual = jest.requireActual('./process');
  return {
    ...actual,
    freePort: async () => {
      // the third port of the first attempt is the apiserver's (etcd client, etcd peer, apiserver)
      const port =
        ports.handed.length === 2 && ports.taken
          ? ports.taken
          : await actual.freePort();
      ports.handed.push(port);
      return port;
    },
  };
});

describe('startLocalCluster when a chosen port is taken before the apiserver binds it', () => {
  it('starts again on other ports and serves', async () => {
    const blocker = net.createServer();
    await new Promise<void>(r => blocker.listen(0, '127.0.0.1', () => r()));
    ports.taken = (blocker.address() as net.AddressInfo).port;
    try {
      const cluster = await startLocalCluster();
      try {
        expect(ports.handed.slice(0, 3)).toContain(ports.taken);
        expect(ports.handed.length).toBe(6);
        expect(cluster.server).not.toContain(`:${ports.taken}`);
        const res = await httpsRequest(`${cluster.server}/version`, {
          caPem: cluster.caPem,
          headers: { authorization: `Bearer ${cluster.token}` },
        });
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body).gitVersion).toBe(cluster.version);
      } finally {
        await cluster.stop();
      }
    } finally {
      blocker.close();
    }
  });
});
