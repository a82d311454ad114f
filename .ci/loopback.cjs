// Preloaded into Comunica's SPARQL server by .ci/servers (NODE_OPTIONS=--require).
// comunica-sparql-file-http has no option for its address: it calls server.listen(port),
// which listens on every interface. This gives such calls the loopback address, so the
// throw-away test server cannot be reached from another machine. .ci/servers checks the
// result in /proc/net/tcp* and stops the run if a server listens anywhere else.
"use strict";
const net = require("node:net");

const LOOPBACK = "127.0.0.1";
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function (...args) {
  const [first, second] = args;
  const isPort = typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first));
  if (isPort && typeof second !== "string") {
    args.splice(1, 0, LOOPBACK); // listen(port[, backlog][, callback])
  } else if (first && typeof first === "object" && "port" in first && !first.host && !first.path) {
    args[0] = { ...first, host: LOOPBACK }; // listen({port, ...}[, callback])
  }
  return listen.apply(this, args);
};
