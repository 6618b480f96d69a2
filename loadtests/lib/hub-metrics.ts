/*
 * A hub's own figures from the Prometheus text of its operations listener (`/metrics`): its resident
 * memory and the agents connected to it. Scraping, rather than reading a local process, works the
 * same against the local stack and a deployed environment.
 */
export interface HubSample {
  /** The `replica` label every hub metric carries. */
  readonly replica: string;
  readonly rssBytes: number;
  readonly connectedAgents: number;
}

const SCRAPE_TIMEOUT_MS = 5_000;

/** The value and replica label of a gauge that has no labels besides the hub's default `replica`. */
function gauge(text: string, name: string): { replica: string; value: number } {
  const line = new RegExp(`^${name}\\{replica="([^"]*)"\\} (\\S+)$`, 'm').exec(text);
  const value = Number(line?.[2]);
  if (!line || !Number.isFinite(value)) throw new Error(`/metrics has no ${name}{replica="…"} sample`);
  return { replica: line[1]!, value };
}

export function parseHubSample(text: string): HubSample {
  const rss = gauge(text, 'hub_process_resident_memory_bytes');
  const agents = gauge(text, 'hub_connected_agents');
  return { replica: rss.replica, rssBytes: rss.value, connectedAgents: agents.value };
}

/** Scrapes `<adminUrl>/metrics`; the timeout covers the body too. */
export async function scrapeHub(adminUrl: string, signal?: AbortSignal): Promise<HubSample> {
  const timeout = AbortSignal.timeout(SCRAPE_TIMEOUT_MS);
  const response = await fetch(`${adminUrl}/metrics`, {
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${adminUrl}/metrics answered ${response.status}`);
  return parseHubSample(text);
}
