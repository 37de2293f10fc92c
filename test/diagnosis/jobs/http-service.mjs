// A small HTTP server that answers its own requests for SECONDS with steady memory, far below the limit: healthy.
import http from 'node:http';

const seconds = Number(process.argv[2] ?? 3);
const server = http.createServer((_request, response) =>
  response.end(JSON.stringify({ ok: true, at: Date.now() })),
);
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const until = Date.now() + seconds * 1000;
let served = 0;
while (Date.now() < until) {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  await response.text();
  served++;
}
server.close();
console.log(`served ${served} requests`);
