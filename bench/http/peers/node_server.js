// Node http server for bench/http: GET / answers "Hello, World!" as
// text/plain, keep-alive.   node node_server.js PORT
const http = require("http");
const body = Buffer.from("Hello, World!");
http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": body.length });
  res.end(body);
}).listen(Number(process.argv[2]), "127.0.0.1");
