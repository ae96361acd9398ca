// Token server for the token-auth registry peer (distribution's "token" auth), run as its own
// process by peers.mjs: `node token-server.mjs --config <file.json>`.
//
// It issues RS256 JWTs with an x5c header, which distribution 2.8 verifies against its
// `rootcertbundle` (see test-peers.md §3). Valid Basic credentials get the requested actions,
// anonymous callers only `pull`, and wrong credentials 401.
//
// Config: { host, port, keyFile, certFile, issuer, username, password, refreshToken?, expiresIn? }.
// Token lifetime: config.expiresIn, else env LADING_TOKEN_EXPIRES_IN, else 300 s. Note the
// registry allows 60 s of clock leeway past `exp`.
//
// One JSON line per request goes to stdout (the peers log), so tests can count token requests.
import { randomUUID, sign, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';

const configIndex = process.argv.indexOf('--config');
const configFile = configIndex > 0 ? process.argv[configIndex + 1] : undefined;
if (!configFile) {
  process.stderr.write('usage: token-server.mjs --config <file.json>\n');
  process.exit(2);
}
const config = JSON.parse(fs.readFileSync(configFile, 'utf8'));
const expiresIn = Number(config.expiresIn ?? process.env.LADING_TOKEN_EXPIRES_IN ?? 300);
if (!Number.isFinite(expiresIn) || expiresIn <= 0) {
  process.stderr.write(`invalid token lifetime ${expiresIn}\n`);
  process.exit(2);
}
const signingKey = fs.readFileSync(config.keyFile, 'utf8');
// x5c wants standard base64 of the DER certificate, not base64url.
const x5c = [new X509Certificate(fs.readFileSync(config.certFile)).raw.toString('base64')];

const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Parses `scope` parameters; each may hold several space-separated scopes. The resource name
 * sits between the first and the last `:` (`repository:a/b:pull,push`, `registry:catalog:*`).
 */
function parseScopes(values) {
  const scopes = [];
  for (const value of values) {
    for (const scope of value.split(/\s+/).filter(Boolean)) {
      const first = scope.indexOf(':');
      const last = scope.lastIndexOf(':');
      if (first < 0 || first === last) continue;
      scopes.push({
        type: scope.slice(0, first),
        name: scope.slice(first + 1, last),
        actions: scope
          .slice(last + 1)
          .split(',')
          .filter(Boolean),
      });
    }
  }
  return scopes;
}

/** Returns the user name ('' for anonymous), or null when the credentials are wrong. */
function authenticate(header) {
  if (!header) return '';
  const match = /^Basic\s+(\S+)$/i.exec(header);
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1));
}

// Two extra users with the same password, for the cases a real registry cannot stage on its own:
// `reader` only ever gets pull (a push meets insufficient_scope), and `expiring` gets an already
// expired token the first time it asks for a scope set (the registry answers invalid_token).
const specialUsers = new Set(['reader', 'expiring']);
const expiredOnce = new Set();

function checkPassword(user, password) {
  return (user === config.username || specialUsers.has(user)) && password === config.password ? user : null;
}

function grant(scopes, user) {
  const pullOnly = !user || user === 'reader';
  return scopes
    .map((s) => ({ ...s, actions: pullOnly ? s.actions.filter((a) => a === 'pull') : s.actions }))
    .filter((s) => s.actions.length > 0);
}

function expiredFirst(user, scopes) {
  if (user !== 'expiring') return false;
  const key = [...scopes].sort().join(' ');
  if (expiredOnce.has(key)) return false;
  expiredOnce.add(key);
  return true;
}

function issue(user, service, access, expired = false) {
  // Past the registry's 60 s leeway when expired.
  const now = Math.floor(Date.now() / 1000) - (expired ? expiresIn + 600 : 0);
  const header = { typ: 'JWT', alg: 'RS256', x5c };
  const claims = {
    iss: config.issuer,
    sub: user,
    aud: service,
    exp: now + expiresIn,
    nbf: now - 10,
    iat: now,
    jti: randomUUID(),
    access,
  };
  const input = `${b64url(header)}.${b64url(claims)}`;
  // RSASSA-PKCS1-v1_5 with SHA-256 for an RSA key: exactly RS256.
  const signature = sign('sha256', Buffer.from(input), signingKey).toString('base64url');
  return { token: `${input}.${signature}`, issuedAt: new Date(now * 1000).toISOString() };
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

function log(entry) {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  if (url.pathname !== '/token') {
    send(res, 404, { error: 'not_found' });
    return;
  }
  try {
    if (req.method === 'GET') {
      // The docker token flow: credentials (if any) in Basic auth, parameters in the query.
      const user = authenticate(req.headers.authorization);
      const scopes = url.searchParams.getAll('scope');
      if (user === null) {
        log({ method: 'GET', status: 401, scopes });
        send(
          res,
          401,
          { errors: [{ code: 'UNAUTHORIZED', message: 'invalid credentials' }] },
          {
            'www-authenticate': 'Basic realm="token"',
          },
        );
        return;
      }
      const service = url.searchParams.get('service') ?? '';
      const expired = expiredFirst(user, scopes);
      const { token, issuedAt } = issue(user, service, grant(parseScopes(scopes), user), expired);
      log({ method: 'GET', status: 200, user, scopes, ...(expired ? { expired } : {}) });
      send(res, 200, { token, access_token: token, expires_in: expiresIn, issued_at: issuedAt });
      return;
    }
    if (req.method === 'POST') {
      // The OAuth2 flow: the password grant, and the refresh-token grant for the identity token
      // (docker's "identitytoken") the config names.
      const form = await readForm(req);
      const scopes = form.getAll('scope');
      const grantType = form.get('grant_type');
      if (grantType !== 'password' && !(grantType === 'refresh_token' && config.refreshToken)) {
        log({ method: 'POST', status: 400, scopes });
        send(res, 400, { error: 'unsupported_grant_type' });
        return;
      }
      const user =
        grantType === 'refresh_token'
          ? form.get('refresh_token') === config.refreshToken
            ? config.username
            : null
          : checkPassword(form.get('username') ?? '', form.get('password') ?? '');
      if (user === null) {
        log({ method: 'POST', status: 401, scopes });
        send(res, 401, { error: 'invalid_grant' });
        return;
      }
      const service = form.get('service') ?? '';
      const { token, issuedAt } = issue(user, service, grant(parseScopes(scopes), user));
      log({ method: 'POST', status: 200, user, scopes });
      send(res, 200, { access_token: token, expires_in: expiresIn, issued_at: issuedAt, scope: scopes.join(' ') });
      return;
    }
    send(res, 405, { error: 'method_not_allowed' }, { allow: 'GET, POST' });
  } catch (error) {
    log({ method: req.method, status: 500, error: String(error?.message ?? error) });
    send(res, 500, { error: 'server_error' });
  }
});

server.listen(config.port, config.host, () => {
  log({ listening: `http://${config.host}:${config.port}`, expiresIn });
});
