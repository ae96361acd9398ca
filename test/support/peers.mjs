// Real third-party OCI peers for the integration tests: three CNCF distribution registries
// (plain HTTP, TLS + htpasswd, token auth) and the token server the third one trusts.
// Plain JS so scripts/test.mjs can load it without tsx; types live in peers.d.mts.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REGISTRY_NAMES = Object.freeze(['plain', 'tls', 'token']);

// LADING_TEST_REGISTRY=serve: the plain and TLS peers are `lading serve` (from this checkout's
// source) instead of Debian's docker-registry; the token peer stays docker-registry, since
// lading serve has no token auth. Anything else (or unset): docker-registry for all three.
const SERVE = process.env.LADING_TEST_REGISTRY === 'serve';
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const serves = (name) => SERVE && name !== 'token';

// chromium: the browser view's tests (test/ui-browser.test.ts) drive it headless through puppeteer-core.
const REQUIRED_BINARIES = [
  'docker-registry',
  'skopeo',
  'umoci',
  'htpasswd',
  'openssl',
  'tinyproxy',
  'chromium',
  'busybox',
  // jq: README's examples pipe JSON output through it, and test/readme.test.ts runs them as written.
  'jq',
];
const APT_PACKAGES = [
  'docker-registry',
  'skopeo',
  'umoci',
  'apache2-utils',
  'openssl',
  'tinyproxy',
  'chromium',
  'busybox',
  'jq',
];
const PACKAGE_SERVICE_PIDFILE = '/var/run/docker-registry.pid';
const PACKAGE_SERVICE_INIT = '/etc/init.d/docker-registry';

const TOKEN_ISSUER = 'lading-token-issuer';
const TOKEN_SERVICE = 'lading-registry';
const TEST_USER = 'testuser';
const HOST = '127.0.0.1';

// The registry is ready 100–200 ms after start; the margin is for loaded CI machines.
const READY_TIMEOUT_MS = 20_000;
const KILL_GRACE_MS = 2_000;
const KILL_HARD_TIMEOUT_MS = 5_000;

const TOKEN_SERVER_SCRIPT = fileURLToPath(new URL('./token-server.mjs', import.meta.url));

// Control servers owned by this process, by peers dir: only the owner can reap its children.
const controlServers = new Map();

// ---------------------------------------------------------------------------------------------
// Packages

/** Makes sure the peer binaries are installed and the Debian package's own service is not running. */
export async function ensurePackages() {
  let missing = REQUIRED_BINARIES.filter((bin) => !onPath(bin));
  if (missing.length > 0) {
    const install = `apt-get install -y --no-install-recommends ${APT_PACKAGES.join(' ')}`;
    if (process.getuid?.() !== 0) {
      throw new Error(
        `integration test peers missing from PATH: ${missing.join(', ')}. ` + `Install them (as root): ${install}`,
      );
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // apt-get update is slow and needs the network; skip it when the lists already know the package.
    const known = await run('apt-cache', ['show', 'docker-registry'], { env, quiet: true }).then(
      () => true,
      () => false,
    );
    if (!known) await run('apt-get', ['update', '-qq'], { env });
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...APT_PACKAGES], {
      env,
    });
    missing = REQUIRED_BINARIES.filter((bin) => !onPath(bin));
    if (missing.length > 0) {
      throw new Error(`still missing after ${install}: ${missing.join(', ')}`);
    }
  }
  await stopPackageService();
}

// The package's postinst may start a system registry on :5000 (all interfaces) where policy-rc.d
// does not block it; we never use it, and it must not answer in place of ours.
async function stopPackageService() {
  let pid;
  try {
    pid = Number.parseInt(await fsp.readFile(PACKAGE_SERVICE_PIDFILE, 'utf8'), 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      `warning: the docker-registry system service (pid ${pid}) is running; ` +
        `stop it with ${PACKAGE_SERVICE_INIT} stop\n`,
    );
    return;
  }
  await run(PACKAGE_SERVICE_INIT, ['stop']);
}

function onPath(bin) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, bin), fs.constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Start

/**
 * Starts all peers in `dir` (a fresh scratch dir under os.tmpdir() when omitted) on free ports,
 * writes `<dir>/peers.json` and returns the same object.
 */
export async function startPeers(options = {}) {
  const dir = options.dir ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'lading-peers-')));
  const sub = (name) => path.join(dir, name);
  for (const name of ['conf', 'data', 'tls', 'auth', 'logs']) {
    await fsp.mkdir(sub(name), { recursive: true });
  }
  const tlsDir = sub('tls');
  const certDir = path.join(tlsDir, 'certs.d');
  await fsp.mkdir(certDir, { recursive: true });

  const [plainPort, tlsPort, tokenPort, tokenServerPort] = await freePorts(4);
  const password = randomBytes(18).toString('base64url');
  // A fixed secret per run keeps upload `_state` tokens valid across restartRegistry().
  const secret = randomBytes(24).toString('hex');

  await Promise.all([
    makeServerCertificates(tlsDir),
    makeTokenSigningCertificate(tlsDir),
    makeHtpasswd(path.join(sub('auth'), 'htpasswd'), password),
  ]);
  await fsp.copyFile(path.join(tlsDir, 'ca.crt'), path.join(certDir, 'ca.crt'));

  const registry = (name, scheme, port) => ({
    kind: serves(name) ? 'lading-serve' : 'docker-registry',
    host: `${HOST}:${port}`,
    url: `${scheme}://${HOST}:${port}`,
    pid: null,
    config: path.join(sub('conf'), `${name}.yml`),
    dataDir: path.join(sub('data'), name),
    log: path.join(sub('logs'), `${name}.log`),
  });
  const tokenServerUrl = `http://${HOST}:${tokenServerPort}`;
  const info = {
    dir,
    plain: registry('plain', 'http', plainPort),
    tls: {
      ...registry('tls', 'https', tlsPort),
      caFile: path.join(tlsDir, 'ca.crt'),
      certDir,
      username: TEST_USER,
      password,
    },
    token: {
      ...registry('token', 'http', tokenPort),
      username: TEST_USER,
      password,
      // An OAuth2 refresh token the token server accepts for TEST_USER (docker's identity token).
      identityToken: randomBytes(18).toString('base64url'),
      tokenServer: {
        url: tokenServerUrl,
        realm: `${tokenServerUrl}/token`,
        service: TOKEN_SERVICE,
        issuer: TOKEN_ISSUER,
        pid: null,
        config: path.join(sub('conf'), 'token-server.json'),
        log: path.join(sub('logs'), 'token-server.log'),
      },
    },
    pids: [],
    control: null,
  };

  await writeConfigs(info, { secret, tlsDir, htpasswd: path.join(sub('auth'), 'htpasswd') });
  await writeJson(info.token.tokenServer.config, {
    host: HOST,
    port: tokenServerPort,
    keyFile: path.join(tlsDir, 'token-signing.key'),
    certFile: path.join(tlsDir, 'token-signing.crt'),
    issuer: TOKEN_ISSUER,
    username: TEST_USER,
    password,
    refreshToken: info.token.identityToken,
    ...(options.tokenExpiresIn === undefined ? {} : { expiresIn: options.tokenExpiresIn }),
  });

  try {
    await startTokenServer(info);
    await Promise.all(REGISTRY_NAMES.map((name) => startRegistry(info, name)));
    info.control = await startControlServer(info);
    await writeInfo(info);
  } catch (error) {
    await stopPeers(info).catch(() => {});
    throw error;
  }
  return info;
}

async function makeServerCertificates(tlsDir) {
  // A real CA (not a self-signed leaf) so clients are tested the way they meet private registries.
  await openssl(
    tlsDir,
    'req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt -subj /CN=lading-test-ca',
    '-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign',
  );
  await openssl(
    tlsDir,
    'req -newkey rsa:2048 -nodes -sha256 -keyout registry.key -out registry.csr -subj /CN=127.0.0.1',
  );
  await fsp.writeFile(
    path.join(tlsDir, 'registry.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  await openssl(
    tlsDir,
    'x509 -req -in registry.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -sha256',
    '-extfile registry.ext -out registry.crt',
  );
}

async function makeTokenSigningCertificate(tlsDir) {
  await openssl(
    tlsDir,
    'req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650',
    `-keyout token-signing.key -out token-signing.crt -subj /CN=${TOKEN_ISSUER}`,
  );
}

/** Runs openssl in `cwd`; the arguments are words without spaces, given as space-separated lines. */
function openssl(cwd, ...lines) {
  return run('openssl', lines.join(' ').split(' '), { cwd, quiet: true });
}

async function makeHtpasswd(file, password) {
  // distribution only accepts bcrypt entries (-B).
  const { stdout } = await run('htpasswd', ['-Bbn', TEST_USER, password], { quiet: true });
  await fsp.writeFile(file, stdout, { mode: 0o600 });
}

async function writeConfigs(info, { secret, tlsDir, htpasswd }) {
  // JSON strings are valid YAML double-quoted scalars, so paths need no further escaping.
  const q = JSON.stringify;
  const common = (name) => [
    'version: 0.1',
    'log:',
    '  level: warn',
    `  fields: {service: registry-${name}}`,
    'storage:',
    `  filesystem: {rootdirectory: ${q(info[name].dataDir)}}`,
    '  delete: {enabled: true}',
    // Purging would delete uploads that a test leaves open on purpose.
    '  maintenance: {uploadpurging: {enabled: false}}',
    'http:',
    `  addr: ${info[name].host}`,
    `  secret: ${secret}`,
    '  headers: {X-Content-Type-Options: [nosniff]}',
  ];
  const yaml = {
    plain: common('plain'),
    tls: [
      ...common('tls'),
      `  tls: {certificate: ${q(path.join(tlsDir, 'registry.crt'))}, key: ${q(path.join(tlsDir, 'registry.key'))}}`,
      'auth:',
      `  htpasswd: {realm: lading-basic, path: ${q(htpasswd)}}`,
    ],
    token: [
      ...common('token'),
      'auth:',
      '  token:',
      `    realm: ${q(info.token.tokenServer.realm)}`,
      `    service: ${TOKEN_SERVICE}`,
      `    issuer: ${TOKEN_ISSUER}`,
      `    rootcertbundle: ${q(path.join(tlsDir, 'token-signing.crt'))}`,
    ],
  };
  for (const name of REGISTRY_NAMES) {
    await fsp.writeFile(info[name].config, `${yaml[name].join('\n')}\n`);
  }
}

async function startTokenServer(info) {
  const server = info.token.tokenServer;
  await refuseBusyPort(server.url);
  // A real process, like the registry that calls it, so a test can never block it by hogging our loop.
  server.pid = spawnLogged(process.execPath, [TOKEN_SERVER_SCRIPT, '--config', server.config], server.log);
  refreshPids(info);
  await waitReady(`${server.url}/token?service=${TOKEN_SERVICE}`, {
    pid: server.pid,
    log: server.log,
    ok: [200],
  });
}

async function startRegistry(info, name) {
  const peer = info[name];
  await refuseBusyPort(peer.url);
  if (serves(name)) {
    // One access line per request, as docker-registry writes them (tests read the log).
    const args = [...serveArgs(info, name), '--root', peer.dataDir, '--addr', peer.host, '--log-level', 'info'];
    peer.pid = spawnLogged(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'src/cli/main.ts'), 'serve', ...args],
      peer.log,
      REPO_ROOT,
    );
  } else {
    peer.pid = spawnLogged('docker-registry', ['serve', peer.config], peer.log);
  }
  refreshPids(info);
  // 401 is "up" for the registries with auth.
  await waitReady(`${peer.url}/v2/`, {
    pid: peer.pid,
    log: peer.log,
    ok: [200, 401],
    ...(name === 'tls' ? { ca: await fsp.readFile(info.tls.caFile) } : {}),
  });
}

/** `lading serve`'s options for the TLS peer (certificate and htpasswd as docker-registry's config has them). */
/** A made-up name the tests reach the registry by (--resolve): lading serve on loopback answers it. */
export const ParityHostName = 'lading-parity.invalid';

function serveArgs(info, name) {
  const alias = ['--allowed-host', ParityHostName];
  if (name !== 'tls') return alias;
  const tlsDir = path.join(info.dir, 'tls');
  return [
    ...alias,
    '--tls-cert',
    path.join(tlsDir, 'registry.crt'),
    '--tls-key',
    path.join(tlsDir, 'registry.key'),
    '--htpasswd',
    path.join(info.dir, 'auth', 'htpasswd'),
  ];
}

// ---------------------------------------------------------------------------------------------
// Stop, restart

/** Stops every process of `info` (SIGTERM, SIGKILL after 2 s). Safe to call more than once. */
export async function stopPeers(info) {
  const control = controlServers.get(info.dir);
  if (control) {
    controlServers.delete(info.dir);
    await new Promise((resolve) => control.close(() => resolve()));
    control.closeAllConnections?.();
  }
  // Tests may have restarted a registry without going through us: the file has the newest pids.
  let onDisk;
  try {
    onDisk = JSON.parse(await fsp.readFile(path.join(info.dir, 'peers.json'), 'utf8'));
  } catch {
    onDisk = undefined;
  }
  const pids = new Set([...collectPids(info), ...(onDisk ? collectPids(onDisk) : [])]);
  const results = await Promise.allSettled([...pids].map((pid) => stopProcess(pid, info.dir)));
  for (const name of REGISTRY_NAMES) info[name].pid = null;
  info.token.tokenServer.pid = null;
  info.pids = [];
  if (fs.existsSync(info.dir)) await writeInfo(info);
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length > 0) {
    throw new Error(`could not stop peers: ${failed.map((r) => r.reason?.message).join('; ')}`);
  }
}

/** Stops one registry (kept stopped until restartRegistry). Updates its pid in `info` and peers.json. */
export async function stopRegistry(info, name) {
  await viaOwner(info, 'stop', name, () => stopRegistryHere(info, name));
}

/** Stops (if running) and starts one registry again, with the same config, port and data. */
export async function restartRegistry(info, name) {
  await viaOwner(info, 'restart', name, async () => {
    await stopRegistryHere(info, name);
    await startRegistry(info, name);
    await writeInfo(info);
  });
}

async function stopRegistryHere(info, name) {
  checkName(name);
  await stopProcess(info[name].pid, info.dir);
  await waitPortClosed(info[name].url, KILL_HARD_TIMEOUT_MS);
  info[name].pid = null;
  refreshPids(info);
  await writeInfo(info);
}

function checkName(name) {
  if (!REGISTRY_NAMES.includes(name)) {
    throw new Error(`unknown registry ${JSON.stringify(name)}; expected one of ${REGISTRY_NAMES.join(', ')}`);
  }
}

// A registry spawned by a test process outlives it and is reparented to an init that may never
// reap it, so restarts go to the process that started the peers (the test runner) when it is alive.
async function viaOwner(info, op, name, here) {
  checkName(name);
  const control = info.control;
  if (!control || control.pid === process.pid || !isAlive(control.pid)) {
    await here();
    return;
  }
  const { status, body } = await request(`${control.url}/${op}/${name}`, { method: 'POST' });
  if (status !== 200) throw new Error(`${op} ${name} failed: ${body}`);
  const updated = JSON.parse(body);
  // In place, so tests holding `peers.plain` see the new pid.
  for (const n of REGISTRY_NAMES) Object.assign(info[n], updated[n]);
  info.pids = updated.pids;
}

async function startControlServer(info) {
  const key = randomBytes(16).toString('hex');
  let queue = Promise.resolve();
  const server = http.createServer((req, res) => {
    const [, reqKey, op, name] = (req.url ?? '').split('/');
    const ops = { stop: stopRegistry, restart: restartRegistry };
    if (req.method !== 'POST' || reqKey !== key || !Object.hasOwn(ops, op ?? '')) {
      res.writeHead(404).end();
      return;
    }
    req.resume();
    // One operation at a time: two restarts of the same registry must not race for its port.
    queue = queue
      .then(() => ops[op](info, name))
      .then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(info)),
        (error) => res.writeHead(500).end(String(error?.message ?? error)),
      );
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, resolve);
  });
  // Must not keep a process alive on its own; stopPeers closes it.
  server.unref();
  controlServers.set(info.dir, server);
  return { url: `http://${HOST}:${server.address().port}/${key}`, pid: process.pid };
}

function collectPids(info) {
  return [...(info.pids ?? []), ...REGISTRY_NAMES.map((name) => info[name]?.pid), info.token?.tokenServer?.pid].filter(
    (pid) => Number.isInteger(pid) && pid > 0,
  );
}

function refreshPids(info) {
  info.pids = collectPids({ ...info, pids: [] });
}

// ---------------------------------------------------------------------------------------------
// For tests

/** Reads the peers started by `npm test` (the file named by LADING_PEERS). Never skips. */
export function loadPeers() {
  const file = process.env.LADING_PEERS;
  if (!file) {
    throw new Error(
      'LADING_PEERS is not set: run the tests through `npm test` (node scripts/test.mjs), ' +
        'which starts the real registries the integration tests need',
    );
  }
  let info;
  try {
    info = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the peers file LADING_PEERS=${file}: ${error.message}`);
  }
  for (const name of REGISTRY_NAMES) {
    if (!info?.[name]?.url) throw new Error(`peers file ${file} lacks the ${name} registry`);
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// Processes

function spawnLogged(command, args, logFile, cwd) {
  const fd = fs.openSync(logFile, 'a');
  let child;
  try {
    child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: false, ...(cwd ? { cwd } : {}) });
  } finally {
    fs.closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new Error(`cannot start ${command}: not found or not executable`);
  }
  // Reaped by libuv while we run; the owner stops it explicitly, so it must not hold our loop open.
  child.on('error', () => {});
  child.unref();
  return child.pid;
}

// kill(pid, 0) also succeeds for a zombie that nobody reaps (an orphan under an init that does
// not reap). A zombie leader whose other threads still run is still alive.
function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return error.code === 'EPERM';
  }
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const state = /^State:\s*(\S)/m.exec(status)?.[1];
    const threads = Number(/^Threads:\s*(\d+)/m.exec(status)?.[1] ?? 1);
    return state !== 'Z' || threads > 1;
  } catch (error) {
    return error.code !== 'ENOENT';
  }
}

// Every process we start names a file under `<dir>/conf/` (lading serve: its root under
// `<dir>/data/`) on its command line; checking that keeps a stale pid (reused by an unrelated
// process) from being killed.
function isOurs(pid, dir) {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return [path.join(dir, 'conf') + path.sep, path.join(dir, 'data') + path.sep].some((p) => cmdline.includes(p));
  } catch (error) {
    return error.code !== 'ENOENT';
  }
}

async function stopProcess(pid, dir) {
  if (!pid || !isAlive(pid) || !isOurs(pid, dir)) return;
  if (!signal(pid, 'SIGTERM') || (await waitExit(pid, KILL_GRACE_MS))) return;
  if (!signal(pid, 'SIGKILL') || (await waitExit(pid, KILL_HARD_TIMEOUT_MS))) return;
  throw new Error(`process ${pid} survived SIGKILL`);
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

async function waitExit(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

function run(command, args, { cwd, env, quiet = false } = {}) {
  return new Promise((resolve, reject) => {
    // Installer output goes to stderr: stdout may be a TAP stream.
    const child = execFile(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        const detail = `${stderr}`.trim() || error.message;
        reject(new Error(`${command} ${args.join(' ')} failed: ${detail}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
    if (!quiet) {
      child.stdout?.pipe(process.stderr, { end: false });
      child.stderr?.pipe(process.stderr, { end: false });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Network

async function freePorts(count) {
  // All held open at once so the same port is never handed out twice.
  const servers = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, HOST, resolve);
      });
      servers.push(server);
    }
    return servers.map((server) => server.address().port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(() => resolve()))));
  }
}

async function refuseBusyPort(url) {
  if (await portAnswers(url)) throw new Error(`refusing to start a peer on ${url}: something already listens there`);
}

// The kernel closes a dying process's sockets a moment after its pid stops looking alive (the
// leader thread turns zombie first), so a restart waits for the port itself.
async function waitPortClosed(url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (await portAnswers(url)) {
    if (Date.now() > deadline)
      throw new Error(`${url} still accepts connections ${timeoutMs} ms after its registry stopped`);
    await sleep(20);
  }
}

function portAnswers(url) {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port: Number(port) });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitReady(url, { pid, log, ok, ca }) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  for (;;) {
    if (!isAlive(pid)) {
      throw new Error(`peer for ${url} (pid ${pid}) exited during start; log ${log}:\n${await tail(log)}`);
    }
    try {
      const { status } = await request(url, { ca, timeoutMs: 1000 });
      if (ok.includes(status)) return;
      last = `HTTP ${status}`;
    } catch (error) {
      last = error.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`peer ${url} not ready after ${READY_TIMEOUT_MS} ms (${last}); log ${log}:\n${await tail(log)}`);
    }
    await sleep(50);
  }
}

function request(url, { method = 'GET', ca, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    // agent: false, so no keep-alive socket outlives the probe.
    const req = mod.request(url, { method, agent: false, ...(ca ? { ca } : {}) }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// Files

async function writeInfo(info) {
  await writeJson(path.join(info.dir, 'peers.json'), info);
}

// Rename makes the update atomic: a test reading the file never sees half of it.
async function writeJson(file, value) {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await fsp.rename(tmp, file);
}

async function tail(file, bytes = 4000) {
  try {
    const text = await fsp.readFile(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '(no log)';
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// `node test/support/peers.mjs`: keeps a set of peers up for a dev loop
// (`LADING_PEERS=<file> npm test -- <filter>` reuses them) until Ctrl-C.

function isMain() {
  try {
    return import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1] ?? '')).href;
  } catch {
    return false;
  }
}

if (isMain()) {
  await ensurePackages();
  const info = await startPeers();
  const keepAlive = setInterval(() => {}, 1 << 30);
  process.stdout.write(`export LADING_PEERS=${path.join(info.dir, 'peers.json')}\n`);
  const shutdown = async () => {
    clearInterval(keepAlive);
    await stopPeers(info);
    await fsp.rm(info.dir, { recursive: true, force: true });
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}
