/** Query parameters that carry credentials, signatures or opaque upload state in the wild. */
const secretParams =
  /^(?:_state|x-amz-.*|x-goog-.*|sig|signature|token|access_token|refresh_token|policy|key-pair-id|se|sp|sv|sr|skoid|sktid|code)$/i;

/**
 * `user:password@` (or `token@`) after a URL scheme, anywhere in a text. The user information runs
 * to the last `@` before the path, so a password holding a raw `@` is masked whole.
 */
const urlUserinfo = /\b([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^\s/"']*@/g;
/** `user:password@host` without a scheme, as someone may type a registry. */
const bareUserinfo = /(^|[\s"'(])[^\s"'/@():]+:[^\s"'/]*@(?=[A-Za-z0-9.-]+(?::\d+)?(?:[/\s"')]|$))/g;

/** `text` with the user name and password of every URL in it masked (`https://***@host/...`). */
export function redactUserinfo(text: string): string {
  return text.replace(urlUserinfo, '$1***@').replace(bareUserinfo, '$1***@');
}

/** Whether `text` starts with an address that carries a user name or password. */
export function hasUserinfo(text: string): boolean {
  return (
    /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/]*@/.test(text) ||
    /^[^\s/@():]+:[^\s/]*@[A-Za-z0-9.-]+(?::\d+)?(?:\/|$)/.test(text)
  );
}

/**
 * A URL fit for error messages and logs: no userinfo, and the values of signing or token query
 * parameters masked, so a presigned object-store URL in an error cannot be replayed by a reader.
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = new URL(String(url));
  } catch {
    return '<invalid url>';
  }
  parsed.username = '';
  parsed.password = '';
  const keys = [...new Set(parsed.searchParams.keys())];
  for (const key of keys) {
    if (secretParams.test(key)) parsed.searchParams.set(key, 'REDACTED');
  }
  return parsed.href;
}
