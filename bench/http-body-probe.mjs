/**
 * Probe, not part of the product: what Node's HTTP parser costs on a big download. Fetches one
 * blob from a plain-HTTP registry and hashes and writes it (1 MiB writev batches, one write at a
 * time) either through node:http or over a bare socket whose body bytes no parser touches
 * (Content-Length bodies only, no keep-alive, no redirects). Compare the CPU of the two:
 *
 *   /usr/bin/time node bench/http-body-probe.mjs http 127.0.0.1:5000 /v2/<repo>/blobs/<digest> out.bin
 *   /usr/bin/time node bench/http-body-probe.mjs raw  127.0.0.1:5000 /v2/<repo>/blobs/<digest> out.bin
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';

const [mode, host, path, file] = process.argv.slice(2);
const [hostname, port] = host.split(':');
const hash = createHash('sha256');
const out = await open(file, 'wx');
let position = 0;
let batch = [];
let batchBytes = 0;
let writing;
let resumeAfterWrite;

async function flush() {
  const buffers = batch;
  const bytes = batchBytes;
  batch = [];
  batchBytes = 0;
  const { bytesWritten } = await out.writev(buffers, position);
  if (bytesWritten !== bytes) throw new Error(`short write: ${bytesWritten} of ${bytes}`);
  position += bytes;
}

/** Hashes and batches a chunk; pauses the source while a full batch waits for the last write. */
function take(chunk, pause, resume) {
  hash.update(chunk);
  batch.push(chunk);
  batchBytes += chunk.length;
  if (batchBytes < 1 << 20) return;
  if (writing) {
    pause();
    resumeAfterWrite = resume;
    return;
  }
  writing = flush().then(() => {
    writing = undefined;
    const resumeNow = resumeAfterWrite;
    resumeAfterWrite = undefined;
    resumeNow?.();
  });
}

if (mode === 'raw') {
  const socket = net.connect(Number(port), hostname);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
  let head = Buffer.alloc(0);
  let length = -1;
  let received = 0;
  await new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (data) => {
      let body = data;
      if (length < 0) {
        head = Buffer.concat([head, data]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        const match = /\r\ncontent-length:\s*(\d+)/i.exec(text);
        if (!text.startsWith('HTTP/1.1 200') || !match) return reject(new Error(text.split('\r\n')[0]));
        length = Number(match[1]);
        body = head.subarray(end + 4);
      }
      received += body.length;
      if (body.length > 0)
        take(
          body,
          () => socket.pause(),
          () => socket.resume(),
        );
      if (received >= length) {
        socket.destroy();
        resolve();
      }
    });
  });
} else {
  await new Promise((resolve, reject) => {
    http
      .get({ host: hostname, port, path }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
        res.on('data', (chunk) =>
          take(
            chunk,
            () => res.pause(),
            () => res.resume(),
          ),
        );
        res.on('end', resolve);
        res.on('error', reject);
      })
      .on('error', reject);
  });
}
while (writing) await writing;
if (batchBytes > 0) await flush();
await out.close();
console.log(`${mode}: ${position} bytes, sha256:${hash.digest('hex')}`);
