import net from 'node:net';

/** A peer that accepts connections and never answers. */
export interface HangingServer {
  port: number;
  /** A kubeconfig for it (https, TLS not verified: it never gets as far as a handshake answer). */
  kubeconfig: string;
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
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    kubeconfig: [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: hang',
      `  cluster: {server: 'https://127.0.0.1:${port}', insecure-skip-tls-verify: true}`,
      'users:',
      '- name: u',
      '  user: {token: t}',
      'contexts:',
      '- name: hang',
      '  context: {cluster: hang, user: u}',
      'current-context: hang',
      '',
    ].join('\n'),
    connections: () => sockets.length,
    close: () => {
      sockets.forEach(s => s.destroy());
      server.close();
    },
  };
}
