// The receiver's Prometheus metrics, on a registry of its own (not prom-client's global one) so several
// receivers can live in one process (tests) and /metrics shows exactly these.
import * as client from 'prom-client';

/** Why a metric (or entry) did not reach the sink. Closed set, so dashboards can rely on it. */
export const DROP_REASONS = [
  'queue_full', // the sink's bounded queue had no room
  'shutting_down', // offered after the sink started closing
  'shutdown_timeout', // still queued when the drain deadline passed
  'rejected', // the OAP refused a batch as invalid (INVALID_ARGUMENT …): resending would fail again
  'topology_full', // the memory sink's bound on services/edges was reached
  'analysis_error', // the analyzer threw on an entry (counted per entry, no metric produced)
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export type EntryKind = 'http' | 'tcp';

/** What sinks report; implemented by ReceiverMetrics, faked by nothing (tests read the registry). */
export interface SinkStats {
  forwarded(count: number): void;
  dropped(reason: DropReason, count: number): void;
  queueDepth(depth: number): void;
  /** A delivery attempt failed; its metrics stay queued for the next one. */
  deliveryFailed(): void;
  /** oap: one collect call ended, at the OAP address that took it. */
  oapCall?(target: string, outcome: 'ok' | 'failed' | 'rejected'): void;
}

export class ReceiverMetrics implements SinkStats {
  readonly registry = new client.Registry();

  readonly entriesReceived: client.Counter<'kind'>;
  readonly entriesAnalyzed: client.Counter<'kind'>;
  readonly metricsProduced: client.Counter;
  readonly metricsForwarded: client.Counter<'sink'>;
  readonly metricsDropped: client.Counter<'reason'>;
  readonly queueDepthGauge: client.Gauge<'sink'>;
  readonly activeStreams: client.Gauge;
  readonly streamsEnded: client.Counter<'code'>;
  readonly streamsRefused: client.Counter<'limit'>;
  readonly metadataProblems: client.Counter<'reason'>;
  readonly entriesSkipped: client.Counter<'reason'>;
  readonly deliveryFailures: client.Counter<'sink'>;
  readonly streamEntries: client.Gauge<'node' | 'stream'>;
  readonly streamsPaused: client.Gauge;
  readonly backpressurePauses: client.Counter;
  readonly connectionsOpen: client.Gauge;
  readonly connectionsAccepted: client.Counter;
  readonly connectionsAged: client.Counter;
  readonly streamsRebalanced: client.Counter;
  readonly oapCalls: client.Counter<'target' | 'outcome'>;

  constructor(private readonly sinkName = 'none') {
    const registers = [this.registry];
    this.entriesReceived = new client.Counter({
      name: 'receiver_als_entries_received_total', help: 'ALS log entries received, by kind',
      labelNames: ['kind'], registers,
    });
    this.entriesAnalyzed = new client.Counter({
      name: 'receiver_als_entries_analyzed_total', help: 'ALS log entries analysed without error, by kind',
      labelNames: ['kind'], registers,
    });
    this.metricsProduced = new client.Counter({
      name: 'receiver_mesh_metrics_produced_total', help: 'Service-mesh metrics produced by analysis', registers,
    });
    this.metricsForwarded = new client.Counter({
      name: 'receiver_mesh_metrics_forwarded_total',
      help: 'Service-mesh metrics delivered by the sink (oap: counted once the carrying call ended OK)',
      labelNames: ['sink'], registers,
    });
    this.metricsDropped = new client.Counter({
      name: 'receiver_mesh_metrics_dropped_total', help: 'Metrics (or entries, for analysis_error) dropped, by reason',
      labelNames: ['reason'], registers,
    });
    this.queueDepthGauge = new client.Gauge({
      name: 'receiver_sink_queue_depth', help: 'Metrics waiting in the sink queue', labelNames: ['sink'], registers,
    });
    this.activeStreams = new client.Gauge({
      name: 'receiver_als_active_streams', help: 'Open StreamAccessLogs streams', registers,
    });
    this.streamsEnded = new client.Counter({
      name: 'receiver_als_streams_ended_total', help: 'StreamAccessLogs streams ended, by gRPC status code name',
      labelNames: ['code'], registers,
    });
    this.streamsRefused = new client.Counter({
      name: 'receiver_als_streams_refused_total',
      help: 'StreamAccessLogs streams refused with RESOURCE_EXHAUSTED, by the limit they met (peer: --max-streams-per-peer, server: --max-streams)',
      labelNames: ['limit'], registers,
    });
    for (const limit of ['peer', 'server']) this.streamsRefused.inc({ limit }, 0);
    this.metadataProblems = new client.Counter({
      name: 'receiver_metadata_problems_total', help: 'Peer/node metadata problems met during analysis, by reason',
      labelNames: ['reason'], registers,
    });
    this.entriesSkipped = new client.Counter({
      name: 'receiver_als_entries_skipped_total',
      help: 'ALS entries that gave no metric, by reason (no peer metadata, unreadable peers, a peer only an IP address names …)',
      labelNames: ['reason'], registers,
    });
    this.deliveryFailures = new client.Counter({
      name: 'receiver_sink_delivery_failures_total',
      help: 'Failed delivery attempts (oap: collect calls not ended OK); their metrics stay queued and are resent',
      labelNames: ['sink'], registers,
    });
    // Per stream, keyed by node id; the series is removed when the stream ends, so cardinality stays
    // bounded by the number of open streams.
    this.streamEntries = new client.Gauge({
      name: 'receiver_als_stream_entries_received', help: 'Entries received on each open stream, by node id and stream number',
      labelNames: ['node', 'stream'], registers,
    });
    this.streamsPaused = new client.Gauge({
      name: 'receiver_als_streams_paused',
      help: 'Open ALS streams not being read because the sink queue is at its high-water mark (gRPC flow control holds the sidecars back)',
      registers,
    });
    this.backpressurePauses = new client.Counter({
      name: 'receiver_als_backpressure_pauses_total',
      help: 'Times the receiver stopped reading its ALS streams because the sink queue reached its high-water mark',
      registers,
    });
    this.connectionsOpen = new client.Gauge({
      name: 'receiver_als_connections_open', help: 'Open ALS (HTTP/2) connections from sidecars', registers,
    });
    this.connectionsAccepted = new client.Counter({
      name: 'receiver_als_connections_accepted_total', help: 'ALS connections accepted', registers,
    });
    this.connectionsAged = new client.Counter({
      name: 'receiver_als_connections_aged_total',
      help: 'ALS connections that outlived --max-connection-age-ms: sent a GOAWAY, their streams ended so the sidecars reconnect (possibly to another replica)',
      registers,
    });
    this.streamsRebalanced = new client.Counter({
      name: 'receiver_als_streams_rebalanced_total',
      help: 'ALS streams the receiver ended with OK at a message boundary because their connection had aged (the sidecar reopens it on a new connection)',
      registers,
    });
    this.oapCalls = new client.Counter({
      name: 'receiver_oap_calls_total',
      help: 'collect calls to the OAP, by the OAP address that took them (its pod IP:port) and outcome (ok, failed, rejected)',
      labelNames: ['target', 'outcome'], registers,
    });
    for (const reason of DROP_REASONS) this.metricsDropped.inc({ reason }, 0);
  }

  oapCall(target: string, outcome: 'ok' | 'failed' | 'rejected'): void {
    this.oapCalls.inc({ target, outcome });
  }

  forwarded(count: number): void {
    this.metricsForwarded.inc({ sink: this.sinkName }, count);
  }

  dropped(reason: DropReason, count: number): void {
    if (count > 0) this.metricsDropped.inc({ reason }, count);
  }

  deliveryFailed(): void {
    this.deliveryFailures.inc({ sink: this.sinkName });
  }

  queueDepth(depth: number): void {
    this.queueDepthGauge.set({ sink: this.sinkName }, depth);
  }

  /** The value of a counter or gauge (summed over all label sets, or one label set); for tests and logs. */
  value(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue(this.registry, name, labels);
  }
}

/** A counter or gauge of any registry (a receiver's, or the sum of its workers'), summed over matching label sets. */
export async function metricValue(registry: client.Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric named ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
