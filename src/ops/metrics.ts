/**
 * Request metrics in Prometheus text format (exposition format 0.0.4), kept cheaply enough for the
 * hot path: `observe` does three Map lookups, a bucket search over a dozen numbers and a few
 * additions, and allocates nothing once a (route, method, status) has been seen.
 */

/** Upper bounds of the latency buckets, in seconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** Methods kept as label values; anything else is counted as "other" (bounded label sets). */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

interface Latency {
  /** Per bucket (not cumulative; summed when rendered), plus one for +Inf. */
  buckets: Float64Array;
  sum: number;
  count: number;
}

export class Metrics {
  /** route -> method -> status -> count */
  private readonly requests = new Map<string, Map<string, Map<number, number>>>();
  /** route -> method -> latency histogram */
  private readonly latency = new Map<string, Map<string, Latency>>();
  readonly startedAt = Date.now();

  /** Records one finished request. `route` must be a route template (bounded), never a raw path. */
  observe(route: string, method: string, status: number, ms: number): void {
    const m = KNOWN_METHODS.has(method) ? method : "other";
    let byMethod = this.requests.get(route);
    if (!byMethod) this.requests.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(m);
    if (!byStatus) byMethod.set(m, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);

    let latByMethod = this.latency.get(route);
    if (!latByMethod) this.latency.set(route, (latByMethod = new Map()));
    let lat = latByMethod.get(m);
    if (!lat) latByMethod.set(m, (lat = { buckets: new Float64Array(LATENCY_BUCKETS.length + 1), sum: 0, count: 0 }));
    const seconds = ms / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
    lat.buckets[i]!++;
    lat.sum += seconds;
    lat.count++;
  }

  /** The request metrics as exposition text. */
  renderRequests(out: MetricsWriter): void {
    out.help("cmfd_http_requests_total", "counter", "HTTP requests answered, by route template, method and status.");
    for (const [route, byMethod] of this.requests) {
      for (const [method, byStatus] of byMethod) {
        for (const [status, n] of byStatus) out.sample("cmfd_http_requests_total", { route, method, status: String(status) }, n);
      }
    }
    out.help("cmfd_http_request_duration_seconds", "histogram", "Time from receiving a request to finishing its response, by route template and method.");
    for (const [route, byMethod] of this.latency) {
      for (const [method, lat] of byMethod) {
        let cumulative = 0;
        for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
          cumulative += lat.buckets[i]!;
          out.sample("cmfd_http_request_duration_seconds_bucket", { route, method, le: String(LATENCY_BUCKETS[i]) }, cumulative);
        }
        out.sample("cmfd_http_request_duration_seconds_bucket", { route, method, le: "+Inf" }, lat.count);
        out.sample("cmfd_http_request_duration_seconds_sum", { route, method }, lat.sum);
        out.sample("cmfd_http_request_duration_seconds_count", { route, method }, lat.count);
      }
    }
  }
}

/** Builds exposition text: HELP/TYPE lines and samples with escaped label values. */
export class MetricsWriter {
  private readonly lines: string[] = [];

  help(name: string, type: "counter" | "gauge" | "histogram", text: string): void {
    this.lines.push(`# HELP ${name} ${text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${name} ${type}`);
  }

  sample(name: string, labels: Record<string, string>, value: number): void {
    const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
    this.lines.push(`${name}${parts.length ? `{${parts.join(",")}}` : ""} ${formatValue(value)}`);
  }

  /** A gauge or counter with one sample and no labels. */
  single(name: string, type: "counter" | "gauge", text: string, value: number): void {
    this.help(name, type, text);
    this.sample(name, {}, value);
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
