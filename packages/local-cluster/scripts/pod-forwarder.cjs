// Carries TCP between the host's loopback and a pod's network namespace without touching any
// interface. Two processes, so the traffic never waits on the caller's event loop (a test that
// blocks in spawnSync must not stall its pod's calls to the apiserver):
//
//   node pod-forwarder.cjs host   in the host namespace, started by runPod (IPC). On
//                                 {type: 'start', nsPid, address, ports: {containerPort: hostPort},
//                                 egress: [{host, port}]} it starts the pod side, listens on
//                                 <address>:<hostPort> (address: a loopback address, 127.0.0.1 by
//                                 default) for each port and passes the listening socket in; it
//                                 connects each egress connection the pod side hands out to
//                                 <host>:<port> here. Answers {type: 'ready', hostPorts} or
//                                 {type: 'error', message}. Later {type: 'egress', id, host, port}
//                                 adds an egress address (answer {type: 'egress-added', id, error?}).
//   node pod-forwarder.cjs pod    inside the pod's namespace (nsenter --net): accepts on the passed
//                                 sockets and connects to 127.0.0.1:<containerPort> there; listens on
//                                 <host>:<port> there for each egress address (any 127.x.y.z is
//                                 local on the namespace's own lo, so no address is added).
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');

function pipe(a, b) {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end).on('close', end);
  b.on('error', end).on('close', end);
}

function podSide() {
  process.on('message', (msg, handle) => {
    if (msg.type === 'ingress') {
      handle.on('connection', outer =>
        pipe(outer, net.connect(msg.port, '127.0.0.1')),
      );
      process.send({ type: 'ok', id: msg.id });
    } else if (msg.type === 'egress') {
      const server = net.createServer({ pauseOnConnect: true }, inner => {
        process.send(
          { type: 'egress-connection', host: msg.host, port: msg.port },
          inner,
        );
      });
      server.on('error', e =>
        process.send({ type: 'error', id: msg.id, message: e.message }),
      );
      server.listen(msg.port, msg.host, () =>
        process.send({ type: 'ok', id: msg.id }),
      );
    }
  });
}

function listen(address, port) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', e =>
      reject(
        new Error(
          `cannot listen on ${address}:${port} for the pod: ${e.message}`,
        ),
      ),
    );
    server.listen(port, address, () => resolve(server));
  });
}

async function hostSide({ nsPid, address = '127.0.0.1', ports, egress }) {
  let output = '';
  // The pod side dies with this process (parent-death signal), and this one with runPod's.
  const pod = spawn(
    '/usr/bin/setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      '/usr/bin/nsenter',
      `--net=/proc/${nsPid}/ns/net`,
      '--',
      process.execPath,
      __filename,
      'pod',
    ],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  pod.stdout.on('data', d => (output += d));
  pod.stderr.on('data', d => (output += d));
  const pending = new Map();
  let nextId = 0;
  pod.on('message', (msg, handle) => {
    if (msg.type === 'egress-connection') {
      const outer = net.connect(msg.port, msg.host);
      pipe(handle, outer);
      handle.resume();
      return;
    }
    const waiter = pending.get(msg.id);
    pending.delete(msg.id);
    if (msg.type === 'ok') waiter?.resolve();
    else waiter?.reject(new Error(msg.message));
  });
  pod.once('exit', (code, signal) => {
    const message = `the pod side of the forwarder (nsenter --net=/proc/${nsPid}/ns/net) exited (${signal ?? code}): ${output.trim() || 'no output'}`;
    for (const w of pending.values()) w.reject(new Error(message));
    pending.clear();
    // Without the pod side nothing is forwarded: say why, then end too.
    process.stderr.write(`${message}\n`, () => process.exit(1));
  });
  const request = (msg, handle) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      pod.send({ ...msg, id }, handle);
    });
  const hostPorts = {};
  for (const [containerPort, hostPort] of Object.entries(ports)) {
    const server = await listen(address, hostPort);
    hostPorts[containerPort] = server.address().port;
    await request({ type: 'ingress', port: Number(containerPort) }, server);
    // The pod side holds its own copy of the listening socket; this side must not accept.
    server.close();
  }
  for (const { host, port } of egress)
    await request({ type: 'egress', host, port });
  process.on('message', msg => {
    if (msg.type !== 'egress') return;
    request({ type: 'egress', host: msg.host, port: msg.port }).then(
      () => process.send({ type: 'egress-added', id: msg.id }),
      e => process.send({ type: 'egress-added', id: msg.id, error: e.message }),
    );
  });
  // setpriv and nsenter exec, so this is the pod side's own pid: runPod waits for it on stop.
  return { hostPorts, podSidePid: pod.pid };
}

if (process.argv[2] === 'pod') {
  podSide();
} else {
  process.once('message', msg => {
    hostSide(msg).then(
      ready => process.send({ type: 'ready', ...ready }),
      e =>
        process.send({ type: 'error', message: e.message }, () =>
          process.exit(1),
        ),
    );
  });
}
// The caller going away ends the forwarder.
process.on('disconnect', () => process.exit(0));
