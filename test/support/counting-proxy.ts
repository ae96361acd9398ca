// A TCP forwarder in front of a real registry that writes down every HTTP request passing
// through it (method and path), for tests that count a command's round trips. The bytes go
// through untouched: only the client's side is read, as HTTP/1.1 framing (Content-Length or
// chunked bodies), to find where each request starts.
import net from 'node:net';

export interface CountingProxy {
  /** `127.0.0.1:<port>`: the registry, as clients address it through the proxy. */
  host: string;
  /** Every request so far: `METHOD /path?query`, in the order they were sent. */
  requests: string[];
  close(): Promise<void>;
}

/** Starts a proxy to `target` (`host:port`) on a free port of 127.0.0.1. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const at = target.lastIndexOf(':');
  const [targetHost, targetPort] = [target.slice(0, at), Number(target.slice(at + 1))];
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, targetHost);
    sockets.add(client);
    sockets.add(upstream);
    const read = requestReader((line) => requests.push(line));
    client.on('data', (chunk: Buffer) => {
      read(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => sockets.delete(client));
    upstream.on('close', () => sockets.delete(upstream));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads HTTP/1.1 requests from a byte stream and reports each request line. */
function requestReader(onRequest: (line: string) => void): (chunk: Buffer) => void {
  let buffer = Buffer.alloc(0);
  let state: 'head' | 'body' | 'size' | 'chunk' | 'trailer' = 'head';
  let remaining = 0;
  return (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (state === 'head') {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
        buffer = buffer.subarray(end + 4);
        const [method, path] = (lines[0] ?? '').split(' ');
        onRequest(`${method} ${path}`);
        const headers = new Map(
          lines
            .slice(1)
            .map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) state = 'size';
        else {
          remaining = Number(headers.get('content-length') ?? 0);
          state = remaining > 0 ? 'body' : 'head';
        }
      } else if (state === 'body' || state === 'chunk') {
        const n = Math.min(remaining, buffer.length);
        buffer = buffer.subarray(n);
        remaining -= n;
        if (remaining > 0) return;
        state = state === 'body' ? 'head' : 'size';
      } else {
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        const line = buffer.subarray(0, end).toString('latin1');
        buffer = buffer.subarray(end + 2);
        if (state === 'trailer') {
          if (line === '') state = 'head';
        } else {
          const size = Number.parseInt(line, 16);
          if (size === 0) state = 'trailer';
          else {
            remaining = size + 2;
            state = 'chunk';
          }
        }
      }
    }
  };
}
