import net from 'node:net';

/** A peer that accepts connections and never answers. */
export interface HangingServer {
  port: number;
  /** How many connections it has accepted so far (a caller now waits on it). */
  connections(): number;
  close(): void;
}

/**
 * A TCP server on loopback that accepts connections and never answers: a cluster that hangs
 * (a real apiserver cannot be made to), for testing time bounds.
 */
export async function startHangingServer(): Promise<HangingServer> {
  const sockets: net.Socket[] = [];
  const server = net.createServer(s => sockets.push(s));
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => sockets.length,
    close: () => {
      sockets.forEach(s => s.destroy());
      server.close();
    },
  };
}
