/** Query parameters that carry credentials, signatures or opaque upload state in the wild. */
const secretParams =
  /^(?:_state|x-amz-.*|x-goog-.*|sig|signature|token|access_token|refresh_token|policy|key-pair-id|se|sp|sv|sr|skoid|sktid|code)$/i;

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
