// Runs inside a pod's network namespace (started through `nsenter --net=/proc/<pid>/ns/net`) and
// carries TCP between it and the host's loopback without touching any interface:
//   {type: 'ingress', port}  + a listening server from the host namespace: each connection it
//                              accepts is piped to 127.0.0.1:<port> here (the pod's port).
//   {type: 'egress', port}     listens on 127.0.0.1:<port> here; each connection is handed to the
//                              parent ({type: 'egress-connection', port} + socket), which connects
//                              to 127.0.0.1:<port> in the host namespace.
// Answers {type: 'ok', id} or {type: 'error', id, message} per request.
'use strict';
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

process.on('message', (msg, handle) => {
  if (msg.type === 'ingress') {
    handle.on('connection', outer => pipe(outer, net.connect(msg.port, '127.0.0.1')));
    process.send({ type: 'ok', id: msg.id });
  } else if (msg.type === 'egress') {
    const server = net.createServer({ pauseOnConnect: true }, inner => {
      process.send({ type: 'egress-connection', port: msg.port }, inner);
    });
    server.on('error', e => process.send({ type: 'error', id: msg.id, message: e.message }));
    server.listen(msg.port, '127.0.0.1', () => process.send({ type: 'ok', id: msg.id }));
  }
});
// The parent going away ends the forwarder.
process.on('disconnect', () => process.exit(0));
