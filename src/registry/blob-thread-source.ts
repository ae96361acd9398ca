/**
 * The source of a blob-fetching thread (see blob-threads.ts), run as an eval'd worker so that it
 * needs no file of its own in the package or the bundle. A job is one blob GET whose request head
 * the main thread built and checked (requestHead: no header injection) for a connection it
 * described (address, TLS settings); the thread sends it, reads the answer into one 1 MiB buffer
 * its connections share (`onread`: no allocation per read; each read is hashed and written before
 * the next one can start), hashes the body and writes it at its offset
 * into the file descriptor it was given, which the main thread holds open until the job answers.
 *
 * It takes only the plain case: `HTTP/1.1 200` with one Content-Length equal to the blob's size,
 * no Transfer-Encoding or Content-Encoding, a Docker-Content-Digest (when there is one) equal to
 * the blob's digest. Anything else (a redirect, a 401, a closed connection, a timeout, a body
 * longer than announced, a failed write) answers `fallback`, and the main thread fetches the blob
 * its usual way, with its retries, redirects, challenges and error messages. The thread never
 * decides that content is good: it answers the digest of what it wrote, and the main thread
 * compares it with the blob's.
 *
 * Messages in: `{ t: 'get', id, fd, size, alg, digest, key, conn, head }` and `{ t: 'x', id }`
 * (cancel). Out, one final message per job: `{ id, hex }`, `{ id, fallback }` or
 * `{ id, cancelled: true }`, each with `p`, the bytes written since the last report; progress
 * before that as `{ id, p }` every 1 MiB. After its final message a job never touches its fd.
 */
export const BlobThreadSource = `
'use strict';
const { parentPort } = require('node:worker_threads');
const net = require('node:net');
const { writeSync } = require('node:fs');
const { createHash } = require('node:crypto');
let tls;
// 1 MiB for all of a thread's connections: measured on 2 cores, a 256 MiB blob 467 → 362 ms and
// 200 × 5 MiB 1.77 → 1.62 s (CPU −20 %) against 64 KiB per connection, peak RSS the same (80 MB;
// 114 → 117 MB with six threads). 256 KiB per connection had cost 30–40 MB of peak RSS.
const ReadBytes = 1024 * 1024;
let readBuffer;
const MaxHeadBytes = 64 * 1024;
const ReportBytes = 1024 * 1024;
const idle = new Map();
const jobs = new Map();

parentPort.on('message', (m) => {
  if (m.t === 'get') start(m);
  else if (m.t === 'x') cancel(m.id);
  else if (m.t === 'drop') drop(m.prefix);
});

function drop(prefix) {
  for (const [key, list] of idle) {
    if (!key.startsWith(prefix)) continue;
    idle.delete(key);
    for (const conn of list) conn.socket.destroy();
  }
}

function start(m) {
  const job = { m, id: m.id, left: m.size, pos: 0, headBytes: 0, inBody: false, keepAlive: true,
    hash: createHash(m.alg), conn: undefined, timer: undefined, unreported: 0, over: false };
  jobs.set(m.id, job);
  const pooled = takeIdle(m.key);
  if (pooled) attach(job, pooled);
  else attach(job, connect(m));
}

/** TLS contexts by route key, for routes whose client names its CAs. */
const contexts = new Map();

function takeIdle(key) {
  const list = idle.get(key);
  while (list && list.length > 0) {
    const conn = list.pop();
    clearTimeout(conn.idleTimer);
    if (!conn.socket.destroyed) return conn;
  }
  return undefined;
}

function connect(m) {
  const c = m.conn;
  const conn = { key: m.key, job: undefined, socket: undefined, reused: false, idleTimer: undefined, keepAliveMs: c.keepAliveMs,
    connected: false, head: undefined };
  const onread = { buffer: (readBuffer ??= Buffer.allocUnsafe(ReadBytes)), callback: (n, buffer) => onRead(conn, n, buffer) };
  if (c.secure) {
    tls ??= require('node:tls');
    // A CA list of the client's own costs OpenSSL tens of milliseconds to load: once per route.
    let context = c.ca ? contexts.get(m.key) : undefined;
    if (c.ca && !context) {
      context = tls.createSecureContext({ ca: c.ca,
        ...(c.cert !== undefined ? { cert: c.cert } : {}), ...(c.clientKey !== undefined ? { key: c.clientKey } : {}) });
      contexts.set(m.key, context);
    }
    conn.socket = tls.connect({
      host: c.address, port: c.port, onread,
      ...(c.servername ? { servername: c.servername } : {}),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(c.name, cert),
      ...(context ? { secureContext: context } : {
        ...(c.cert !== undefined ? { cert: c.cert } : {}),
        ...(c.clientKey !== undefined ? { key: c.clientKey } : {}),
      }),
      rejectUnauthorized: c.rejectUnauthorized,
    });
  } else {
    conn.socket = net.connect({ host: c.address, port: c.port, onread });
  }
  conn.socket.setNoDelay(true);
  // Until connected (and, for TLS, the handshake done) the connect timeout runs; then the reply's.
  conn.socket.once(c.secure ? 'secureConnect' : 'connect', () => {
    conn.connected = true;
    if (conn.job && !conn.job.inBody) arm(conn.job, c.replyTimeoutMs);
  });
  conn.socket.on('error', (error) => lost(conn, error));
  conn.socket.on('close', () => lost(conn, undefined));
  return conn;
}

function attach(job, conn) {
  job.conn = conn;
  conn.job = job;
  arm(job, conn.connected ? job.m.conn.replyTimeoutMs : job.m.conn.connectTimeoutMs);
  conn.socket.write(job.m.head);
}

function arm(job, ms) {
  clearTimeout(job.timer);
  job.timer = setTimeout(() => fallback(job, 'timed out'), ms);
}

function onRead(conn, n, buffer) {
  const job = conn.job;
  if (!job) {
    // Bytes nobody asked for on an idle connection: it is out of step, never reused.
    conn.socket.destroy();
    return;
  }
  let chunk = buffer.subarray(0, n);
  if (!job.inBody) {
    // The head is copied into the connection's one head buffer, however many reads bring it (a
    // server that sends it a byte at a time costs no allocation per read).
    const head = (conn.head ??= Buffer.allocUnsafe(MaxHeadBytes));
    const end = headEnd(head, job.headBytes, chunk);
    const take = end < 0 ? chunk.length : end;
    if (job.headBytes + take > MaxHeadBytes) {
      fallback(job, 'response head too long');
      return;
    }
    chunk.copy(head, job.headBytes, 0, take);
    job.headBytes += take;
    if (end < 0) return;
    const refused = checkHead(job, head.toString('latin1', 0, job.headBytes - 4));
    if (refused) {
      fallback(job, refused);
      return;
    }
    job.inBody = true;
    chunk = chunk.subarray(end);
  }
  arm(job, job.m.conn.bodyTimeoutMs);
  if (chunk.length > job.left) {
    // Bytes past the announced length (a stray CRLF some servers send): the blob's own bytes are
    // kept, the connection is not (it is out of step).
    job.keepAlive = false;
    chunk = chunk.subarray(0, job.left);
  }
  if (chunk.length > 0) {
    job.hash.update(chunk);
    try {
      let at = 0;
      while (at < chunk.length) at += writeSync(job.m.fd, chunk, at, chunk.length - at, job.pos + at);
    } catch (error) {
      fallback(job, 'write failed: ' + (error.code || error.message));
      return;
    }
    job.pos += chunk.length;
    job.left -= chunk.length;
    job.unreported += chunk.length;
    if (job.unreported >= ReportBytes) {
      parentPort.postMessage({ id: job.id, p: job.unreported });
      job.unreported = 0;
    }
  }
  if (job.left === 0) finish(job);
}

const headTerminator = Buffer.from('\\r\\n\\r\\n', 'latin1');
const seam = Buffer.alloc(6);

/**
 * Where in \`chunk\` the response head ends (the index just past its empty line), given the
 * \`have\` head bytes already in \`head\`; -1 when it does not end in this chunk.
 */
function headEnd(head, have, chunk) {
  const k = Math.min(3, have);
  if (k > 0) {
    // The empty line may straddle the reads: the last bytes before and the first ones of this read.
    const m = Math.min(3, chunk.length);
    head.copy(seam, 0, have - k, have);
    chunk.copy(seam, k, 0, m);
    const at = seam.subarray(0, k + m).indexOf(headTerminator);
    if (at >= 0) return at + 4 - k;
  }
  const at = chunk.indexOf(headTerminator);
  return at < 0 ? -1 : at + 4;
}

/** Why the answer is not the plain one this thread takes, or undefined when it is. */
function checkHead(job, text) {
  const lines = text.split('\\r\\n');
  if (!/^HTTP\\/1\\.1 200(?: [\\t\\x20-\\x7e]*)?$/.test(lines[0])) return 'status ' + lines[0].slice(0, 40);
  let length;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0 || !/^[!#$%&'*+\\-.^_\`|~0-9A-Za-z]+$/.test(line.slice(0, colon))) return 'header line';
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!/^[\\t\\x20-\\x7e\\x80-\\xff]*$/.test(value)) return 'header value';
    if (name === 'content-length') {
      if (!/^\\d{1,16}$/.test(value) || (length !== undefined && length !== Number(value))) return 'content-length';
      length = Number(value);
    } else if (name === 'transfer-encoding') return 'transfer-encoding';
    else if (name === 'content-encoding' && value.toLowerCase() !== 'identity') return 'content-encoding';
    else if (name === 'connection' && /(^|,)\\s*close\\s*(,|$)/i.test(value)) job.keepAlive = false;
    else if (name === 'docker-content-digest' && value !== job.m.digest) return 'docker-content-digest';
  }
  if (length !== job.m.size) return 'content-length';
  return undefined;
}

function end(job) {
  if (job.over) return false;
  job.over = true;
  jobs.delete(job.id);
  clearTimeout(job.timer);
  const conn = job.conn;
  if (conn) conn.job = undefined;
  return true;
}

function finish(job) {
  if (!end(job)) return;
  const conn = job.conn;
  if (job.keepAlive && !conn.socket.destroyed) {
    conn.reused = true;
    let list = idle.get(conn.key);
    if (!list) idle.set(conn.key, (list = []));
    list.push(conn);
    conn.idleTimer = setTimeout(() => conn.socket.destroy(), conn.keepAliveMs);
    conn.idleTimer.unref();
  } else {
    conn.socket.destroy();
  }
  parentPort.postMessage({ id: job.id, p: job.unreported, hex: job.hash.digest('hex') });
}

function fallback(job, reason) {
  if (!end(job)) return;
  job.conn?.socket.destroy();
  parentPort.postMessage({ id: job.id, p: job.unreported, fallback: String(reason) });
}

function cancel(id) {
  const job = jobs.get(id);
  if (!job || !end(job)) return;
  job.conn?.socket.destroy();
  parentPort.postMessage({ id, p: job.unreported, cancelled: true });
}

function lost(conn, error) {
  const list = idle.get(conn.key);
  const at = list ? list.indexOf(conn) : -1;
  if (at >= 0) list.splice(at, 1);
  clearTimeout(conn.idleTimer);
  const job = conn.job;
  if (!job) return;
  if (conn.reused && job.headBytes === 0) {
    // A kept connection the server had closed meanwhile: the GET goes again on a new one.
    conn.job = undefined;
    attach(job, connect(job.m));
    return;
  }
  fallback(job, error ? error.message : 'connection closed');
}
`;
