/** The ports a hub process bound, as its `hub listening` log line reports them. */
export interface ListeningPorts {
  readonly port: number;
  readonly adminPort: number;
}

/** Reads one line of the hub's JSON log; the ports once it is the `hub listening` line, else undefined. */
export function listeningPorts(line: string): ListeningPorts | undefined {
  if (!line.startsWith('{')) return undefined;
  let entry: { msg?: unknown; port?: unknown; adminPort?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return undefined;
  }
  if (typeof entry.msg !== 'string' || !entry.msg.startsWith('hub listening')) return undefined;
  if (typeof entry.port !== 'number' || typeof entry.adminPort !== 'number') return undefined;
  return { port: entry.port, adminPort: entry.adminPort };
}
