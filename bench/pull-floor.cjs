/**
 * Probe, not part of the product: the floor of a registry → OCI layout pull in Node — one socket,
 * no framework, no checks beyond the digests. GETs the manifest, then its config and layers on the
 * same keep-alive connection, hashes and writes each blob, writes index.json and oci-layout.
 * Plain HTTP, Content-Length bodies only. Compare with lading cp and skopeo copy in one loop:
 *
 *   node bench/pull-floor.cjs 127.0.0.1:5000 <repo> <tag> <new output folder>
 */
const net = require('node:net');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const [host, repo, tag, out] = process.argv.slice(2);
const [hostname, port] = host.split(':');
const s = net.connect({ host: hostname, port: +port });
const queue = [];
let cur = null;
function get(p, accept, onHead, onBody, onEnd) {
  s.write(`GET ${p} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: floor\r\n${accept ? `Accept: ${accept}\r\n` : ''}\r\n`);
  queue.push({ onHead, onBody, onEnd, head: Buffer.alloc(0), left: -1 });
}
s.on('data', (b) => {
  while (b.length) {
    if (!cur) cur = queue.shift();
    if (cur.left < 0) {
      const all = Buffer.concat([cur.head, b]);
      const i = all.indexOf('\r\n\r\n');
      if (i < 0) {
        cur.head = all;
        return;
      }
      const head = all.subarray(0, i).toString('latin1');
      const m = /content-length:\s*(\d+)/i.exec(head);
      cur.left = +m[1];
      cur.onHead(head);
      b = all.subarray(i + 4);
    }
    const n = Math.min(cur.left, b.length);
    if (n) cur.onBody(b.subarray(0, n));
    cur.left -= n;
    b = b.subarray(n);
    if (cur.left === 0) {
      const c = cur;
      cur = null;
      c.onEnd();
    }
  }
});
fs.mkdirSync(path.join(out, 'blobs', 'sha256'), { recursive: true });
fs.writeFileSync(path.join(out, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
const mt = 'application/vnd.oci.image.manifest.v1+json';
const mbuf = [];
get(
  `/v2/${repo}/manifests/${tag}`,
  mt,
  () => {},
  (c) => mbuf.push(c),
  () => {
    const m = Buffer.concat(mbuf);
    const md = createHash('sha256').update(m).digest('hex');
    const man = JSON.parse(m);
    let pending = 0;
    const done = () => {
      if (--pending) return;
      fs.writeFileSync(path.join(out, 'blobs', 'sha256', md), m);
      fs.writeFileSync(
        path.join(out, 'index.json'),
        JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: mt,
              digest: `sha256:${md}`,
              size: m.length,
              annotations: { 'org.opencontainers.image.ref.name': tag },
            },
          ],
        }),
      );
      s.end();
    };
    for (const d of [man.config, ...man.layers]) {
      // A digest from the server names a file: nothing but sha256 hex may reach the path.
      if (!/^sha256:[a-f0-9]{64}$/.test(d.digest)) throw new Error(`refusing digest ${JSON.stringify(d.digest)}`);
      pending++;
      const h = createHash('sha256');
      const file = path.join(out, 'blobs', 'sha256', d.digest.slice(7));
      const fd = fs.openSync(`${file}.tmp`, 'wx');
      let pos = 0;
      get(
        `/v2/${repo}/blobs/${d.digest}`,
        null,
        () => {},
        (c) => {
          h.update(c);
          fs.writeSync(fd, c, 0, c.length, pos);
          pos += c.length;
        },
        () => {
          if (`sha256:${h.digest('hex')}` !== d.digest) throw new Error('bad');
          fs.closeSync(fd);
          fs.renameSync(`${file}.tmp`, file);
          done();
        },
      );
    }
  },
);
