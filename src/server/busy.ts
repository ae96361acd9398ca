import { LadingError } from '../oci/index.js';

/**
 * A request refused because the server is already busy with as many of its kind as it takes (open
 * uploads, password checks): answered 429 with a Retry-After, the client may come back.
 */
export class ServerBusy extends LadingError {
  constructor(message: string) {
    super('UNSUPPORTED', message);
    this.name = 'ServerBusy';
  }
}
