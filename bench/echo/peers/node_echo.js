// Node TCP echo server for bench/echo: net, writes back each chunk it
// receives, TCP_NODELAY on.
//
//     node node_echo.js PORT
'use strict';
const net = require('net');
const port = Number(process.argv[2]);
const srv = net.createServer({ noDelay: true }, (s) => {
  s.on('data', (d) => s.write(d));
  s.on('error', () => s.destroy());
});
srv.listen({ port, host: '127.0.0.1', backlog: 4096 });
