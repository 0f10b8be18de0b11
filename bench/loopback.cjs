// Preloaded into supergateway (node --require): it has no --host option and listens on every
// interface, so a listen(port, ...) with no host is pinned to 127.0.0.1. The bench stays on loopback.
const net = require('node:net');

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  return listen.apply(this, args);
};
