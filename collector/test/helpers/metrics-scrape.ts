// Reads /metrics the way a monitoring server does: over HTTP, parsed by an independent
// exposition-format parser (parse-prometheus-text-format), never by a regex.
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

export type { ParsedFamily };

/** GET /metrics; throws unless 200 with the Prometheus text content type. */
export async function scrapeMetrics(
  baseUrl: string,
  headers: Record<string, string> = {},
): Promise<ParsedFamily[]> {
  const res = await fetch(`${baseUrl}/metrics`, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics → ${res.status} ${text.slice(0, 200)}`);
  const type = res.headers.get('content-type') ?? '';
  if (!type.startsWith('text/plain; version=0.0.4')) throw new Error(`/metrics content type ${type}`);
  return parsePrometheusTextFormat(text);
}

export function metricFamily(families: ParsedFamily[], name: string): ParsedFamily {
  const f = families.find((x) => x.name === name);
  if (!f) throw new Error(`metric ${name} missing`);
  return f;
}

/** The value of the one sample of `name` with exactly these labels. */
export function metricValue(
  families: ParsedFamily[],
  name: string,
  labels: Record<string, string> = {},
): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  const sample = metricFamily(families, name).metrics.find(
    (m) => JSON.stringify(Object.entries(m.labels ?? {}).sort()) === want,
  );
  if (sample?.value === undefined) throw new Error(`no sample of ${name} with ${want}`);
  return Number(sample.value);
}
