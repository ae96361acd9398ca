/** Where `--debug` sends the HTTP trace; set once per run by the program. */
let sink: ((line: string) => void) | undefined;

export function setTraceSink(next: ((line: string) => void) | undefined): void {
  sink = next;
}

export function traceSink(): ((line: string) => void) | undefined {
  return sink;
}
