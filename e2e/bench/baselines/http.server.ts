// Baseline (b): the REST transport ceiling. A bare node:http server that reads the whole JSON body and
// answers every POST with precomputed bytes (the gateway's own answer), without parsing or a model.
//   node http.server.ts <response-file>   -> prints "port <n>" once listening on 127.0.0.1
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import http from 'node:http';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: http.server.ts <response-file>');
const response = readFileSync(file);

const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': response.length });
    res.end(response);
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
