/// <reference path="./parse-prometheus-text-format.d.ts" />
// The receiver's /metrics (receiver/src/admin/metrics.ts), reduced to what the doctor judges: entries received,
// metrics forwarded, drops by reason, and the open ALS streams by the node that opened them.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface ReceiverCounters {
  entriesReceived: number;
  metricsForwarded: number;
  drops: Record<string, number>;
  /** Open streams: the reporting sidecar's node id, its IP, and entries received on the stream. */
  streams: { node: string; ip: string; entries: number }[];
}

/** Metric names the receiver exports (receiver/src/admin/metrics.ts). */
export const RECEIVER_METRIC = {
  entriesReceived: 'receiver_als_entries_received_total',
  metricsForwarded: 'receiver_mesh_metrics_forwarded_total',
  dropped: 'receiver_mesh_metrics_dropped_total',
  streamEntries: 'receiver_als_stream_entries_received',
} as const;

export function readReceiverMetrics(text: string): ReceiverCounters {
  const families = parsePrometheusTextFormat(text);
  const samples = (name: string) => families.find((f) => f.name === name)?.metrics ?? [];
  const sum = (name: string) => samples(name).reduce((s, m) => s + Number(m.value), 0);
  if (!families.some((f) => f.name === RECEIVER_METRIC.entriesReceived)) {
    throw new Error(`the metrics text has no ${RECEIVER_METRIC.entriesReceived}: is this the meshscope receiver's /metrics?`);
  }
  const drops: Record<string, number> = {};
  for (const m of samples(RECEIVER_METRIC.dropped)) {
    const reason = m.labels?.reason ?? 'unknown';
    drops[reason] = (drops[reason] ?? 0) + Number(m.value);
  }
  return {
    entriesReceived: sum(RECEIVER_METRIC.entriesReceived),
    metricsForwarded: sum(RECEIVER_METRIC.metricsForwarded),
    drops,
    // Node ids are `sidecar~IP~NAME.NS~NS.svc.cluster.local` (Envoy's node id as Istio sets it).
    streams: samples(RECEIVER_METRIC.streamEntries).map((m) => {
      const node = m.labels?.node ?? '';
      return { node, ip: node.split('~')[1] ?? '', entries: Number(m.value) };
    }),
  };
}

/** Adds up the counters of several receiver replicas. */
export function sumReceiverCounters(all: ReceiverCounters[]): ReceiverCounters {
  const drops: Record<string, number> = {};
  for (const c of all) for (const [k, v] of Object.entries(c.drops)) drops[k] = (drops[k] ?? 0) + v;
  return {
    entriesReceived: all.reduce((s, c) => s + c.entriesReceived, 0),
    metricsForwarded: all.reduce((s, c) => s + c.metricsForwarded, 0),
    drops,
    streams: all.flatMap((c) => c.streams),
  };
}
