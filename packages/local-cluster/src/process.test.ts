import fs from 'node:fs';
import net from 'node:net';
import { freePort, isPortTaken } from './process';

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('freePort', () => {
  it('hands out distinct ports a child can listen on', async () => {
    const ports = await Promise.all(
      Array.from({ length: 20 }, () => freePort()),
    );
    expect(new Set(ports).size).toBe(ports.length);
    const servers = await Promise.all(ports.map(listen));
    await Promise.all(servers.map(s => new Promise(r => s.close(r))));
  });

  it('stays below the range the kernel takes source ports of outgoing connections from', async () => {
    const range = '/proc/sys/net/ipv4/ip_local_port_range';
    const low = fs.existsSync(range)
      ? Number(fs.readFileSync(range, 'utf8').trim().split(/\s+/)[0])
      : 32_768;
    for (let i = 0; i < 20; i++) {
      expect(await freePort()).toBeLessThan(low);
    }
  });
});

describe('isPortTaken', () => {
  it('recognises the bind error of Go and Node listeners', async () => {
    const server = await listen(0);
    const { port } = server.address() as net.AddressInfo;
    const error = await listen(port).catch(e => e);
    server.close();
    expect(isPortTaken(error)).toBe(true);
    expect(
      isPortTaken(
        new Error(
          'failed to listen on 127.0.0.1:42237: listen tcp 127.0.0.1:42237: bind: address already in use',
        ),
      ),
    ).toBe(true);
    expect(isPortTaken(new Error('etcd exited (exit code 1)'))).toBe(false);
  });
});
