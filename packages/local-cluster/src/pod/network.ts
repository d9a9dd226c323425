/**
 * Traffic between the host's loopback and a pod's own network namespace, without changing any
 * interface: a small Node forwarder runs inside the pod's namespace (scripts/pod-forwarder.cjs).
 * Listening sockets made here, in the host namespace, are passed to it over IPC (ingress: host
 * port -> pod port); connections it accepts inside the pod are passed back here and connected on
 * the host (egress: pod's 127.0.0.1:<port> -> host's 127.0.0.1:<port>).
 */
import { ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

// A private package that only ever runs from its source folder (tests, npm start), never bundled.
// eslint-disable-next-line no-restricted-syntax
const forwarderScript = path.resolve(__dirname, '..', '..', 'scripts', 'pod-forwarder.cjs');

export interface Forwarder {
  /** containerPort -> host port on 127.0.0.1, for every forwarded port (given or added for probes). */
  hostPorts: Record<number, number>;
  /** The forwarder's output, for error messages. */
  logs(): string;
  stop(): Promise<void>;
}

function pipe(a: net.Socket, b: net.Socket) {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
}

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', e => reject(new Error(`cannot listen on 127.0.0.1:${port} for the pod: ${e.message}`)));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/**
 * Starts the forwarder in the network namespace of process `nsPid`: `ports` (containerPort ->
 * host port; 0 picks one) into the pod, `egress` host ports out of it. Resolves once every
 * listener is up, so the pod may start using them.
 */
export async function startForwarder(options: {
  nsPid: number;
  ports: Record<number, number>;
  egress: number[];
  track: (child: ChildProcess) => void;
}): Promise<Forwarder> {
  let output = '';
  const child = spawn(
    '/usr/bin/setpriv',
    ['--pdeathsig', 'KILL', '--', '/usr/bin/nsenter', `--net=/proc/${options.nsPid}/ns/net`, '--', process.execPath, forwarderScript],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  options.track(child);
  child.stdout!.on('data', d => (output += d));
  child.stderr!.on('data', d => (output += d));
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
  const hostSockets = new Set<net.Socket>();
  const pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let nextId = 0;
  child.on('message', (msg: any, handle: any) => {
    if (msg.type === 'egress-connection') {
      const inner = handle as net.Socket;
      const outer = net.connect(msg.port, '127.0.0.1');
      hostSockets.add(outer);
      outer.once('close', () => hostSockets.delete(outer));
      pipe(inner, outer);
      inner.resume();
      return;
    }
    const waiter = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.type === 'ok') waiter?.resolve();
    else waiter?.reject(new Error(msg.message));
  });
  const request = (msg: Record<string, unknown>, handle?: net.Server) =>
    new Promise<void>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ ...msg, id }, handle as any);
    });
  child.once('exit', (code, signal) => {
    for (const w of pending.values()) w.reject(new Error(`the pod's port forwarder exited (${signal ?? code}): ${output.trim()}`));
    pending.clear();
  });
  const stop = async () => {
    for (const s of hostSockets) s.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    const hostPorts: Record<number, number> = {};
    for (const [containerPort, hostPort] of Object.entries(options.ports)) {
      const server = await listen(hostPort);
      hostPorts[Number(containerPort)] = (server.address() as net.AddressInfo).port;
      await request({ type: 'ingress', port: Number(containerPort) }, server);
      // The forwarder holds its own copy of the listening socket; this side must not accept.
      server.close();
    }
    for (const port of options.egress) await request({ type: 'egress', port });
    return { hostPorts, logs: () => output, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
