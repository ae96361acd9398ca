import { connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { failure } from './h1/failure.js';
import { proxyAuthorization, redactProxy } from './proxy.js';

/** The longest answer to CONNECT read before the proxy is given up on. */
const MaxConnectReply = 64 * 1024;

/** Marks a failure that happened at or through `proxy`, so the message can say so. */
export function viaProxy<E extends Error>(error: E, proxy: URL): E {
  if (!(error as { proxy?: string }).proxy) Object.assign(error, { proxy: redactProxy(proxy) });
  return error;
}

/** A connection to the proxy itself: TCP, or TLS verified against the system roots for `https://`. */
export function connectProxy(proxy: URL, ca: ConnectionOptions['ca']): Socket {
  const port = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  const host = proxy.hostname.replace(/^\[(.*)\]$/, '$1');
  if (proxy.protocol === 'https:') {
    // No CA list of lading's own: Node's default store, with NODE_EXTRA_CA_CERTS (a corporate
    // proxy's private CA) and --use-openssl-ca as the user set them.
    return tlsConnect({ host, port, servername: host, ...(ca ? { ca } : {}), rejectUnauthorized: true });
  }
  return netConnect({ host, port });
}

export interface TunnelOptions {
  /** Until the proxy has answered CONNECT. */
  timeoutMs: number;
  /** CAs to verify an `https://` proxy with (the system roots when absent). */
  ca?: ConnectionOptions['ca'];
}

/**
 * A TCP tunnel to `host:port` through `proxy` (HTTP CONNECT, RFC 9110 §9.3.6): resolves with the
 * socket once the proxy answered 2xx; what the proxy sent after its answer is put back.
 */
export function tunnel(proxy: URL, host: string, port: number, o: TunnelOptions): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connectProxy(proxy, o.ca);
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    let reply = Buffer.alloc(0);
    let done = false;
    let reached = false;
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      reached = true;
    });
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', finish);
      socket.off('close', onClose);
      if (error) {
        socket.destroy();
        if (!reached) Object.assign(error, { proxyUnreachable: true });
        reject(viaProxy(error, proxy));
      } else {
        resolve(socket);
      }
    };
    const timer = setTimeout(
      () => finish(failure('CONNECT_TIMEOUT', `no answer to CONNECT ${authority} after ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    const onClose = () => finish(failure('ECONNRESET', `closed before answering CONNECT ${authority}`));
    const onData = (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      const end = reply.indexOf('\r\n\r\n');
      if (end < 0) {
        if (reply.length > MaxConnectReply) {
          finish(failure('EPROXY', `answer to CONNECT ${authority} too long`));
        }
        return;
      }
      const statusLine = reply.subarray(0, reply.indexOf('\r\n')).toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!status) {
        finish(failure('EPROXY', `answered CONNECT ${authority} with no HTTP status`));
        return;
      }
      const code = Number(status[1]);
      if (code < 200 || code > 299) {
        const text = (status[2] ?? '').replace(/[^\x20-\x7e]/g, ' ').slice(0, 200);
        finish(failure('EPROXY', `refused CONNECT ${authority}: ${code} ${text}`.trim()));
        return;
      }
      const rest = reply.subarray(end + 4);
      finish();
      if (rest.length > 0) socket.unshift(rest);
    };
    socket.on('data', onData);
    socket.once('error', finish);
    socket.once('close', onClose);
    const auth = proxyAuthorization(proxy);
    const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`];
    if (auth) lines.push(`Proxy-Authorization: ${auth}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  });
}
