/** What a registry login yields; docker's config.json holds the same four things. */
export interface Credential {
  /** The user name (Basic auth, or the password grant of a token server). */
  username?: string;
  /** The password or personal access token. */
  password?: string;
  /** An OAuth2 refresh token (docker `identitytoken`), exchanged for access tokens by POST. */
  identityToken?: string;
  /** A ready bearer token (docker `registrytoken`), sent as is. */
  registryToken?: string;
}

/** Looks up the credential for a registry host (`host[:port]`); undefined or {} means anonymous. */
export type CredentialProvider = (host: string) => Promise<Credential | undefined>;

/** A provider that returns the same credential for one host and nothing for others. */
export function staticCredential(host: string, credential: Credential): CredentialProvider {
  return async (h) => (h === host ? credential : undefined);
}

export function isEmptyCredential(c: Credential | undefined): boolean {
  return !c || (!c.username && !c.password && !c.identityToken && !c.registryToken);
}
