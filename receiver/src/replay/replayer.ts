// Plays the hybrid Online Boutique's traffic into a receiver over ALS. Live: user actions arrive at `rate`
// per second (Poisson, seeded), each sidecar logs an entry when its side of a call ends, and every
// `flushIntervalMs` each sidecar sends what it logged since (Envoy's ALS buffer flush). Burst: a fixed
// number of user actions in simulated time, sent at once (tests).
import type { ChannelOptions } from '@grpc/grpc-js';
import { SidecarStreams, type StreamCounts } from './sidecar-streams';
import { BoutiqueTraffic, type LoggedEntry } from './traffic';

export interface ReplayOptions {
  /** The receiver's ALS address, host:port. */
  target: string;
  seed: number;
  /** User actions per second (the loadgenerator's requests to frontend). */
  rate: number;
  /** Envoy's ALS buffer flush interval (default 1000 ms, Envoy's default). */
  flushIntervalMs?: number;
  /** Options of the sidecars' gRPC channel (e.g. a round_robin service config over several replicas). */
  channelOptions?: ChannelOptions;
  /** A channel (and connections) per sidecar, as each Envoy has, rather than one shared by all; a function gives each sidecar's target. */
  channelPerSidecar?: boolean | ((sidecarId: string, opened: number) => string);
}

export interface ReplayStats extends StreamCounts {
  userActions: number;
}

export const RATE_LIMITS = { min: 0.1, max: 500 } as const;

function checkRate(rate: number): void {
  if (!(rate >= RATE_LIMITS.min && rate <= RATE_LIMITS.max)) {
    throw new Error(`invalid rate ${rate}; allowed: user actions per second from ${RATE_LIMITS.min} to ${RATE_LIMITS.max}`);
  }
}

export class Replayer {
  readonly traffic: BoutiqueTraffic;
  private readonly streams: SidecarStreams;
  private pending: LoggedEntry[] = [];
  private userActions = 0;
  private nextArrival = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped: Promise<ReplayStats> | undefined;

  constructor(private readonly opts: ReplayOptions) {
    checkRate(opts.rate);
    this.traffic = new BoutiqueTraffic(opts.seed);
    this.streams = new SidecarStreams(opts.target, undefined, opts.channelOptions, opts.channelPerSidecar);
  }

  start(now = Date.now()): void {
    if (this.timer || this.stopped) throw new Error('the replayer was already started');
    this.nextArrival = now;
    this.tick(now);
    this.timer = setInterval(() => this.tick(Date.now()), this.opts.flushIntervalMs ?? 1000);
  }

  /** Stops new user actions, sends what is still buffered (calls in flight end early), ends the streams. */
  stop(): Promise<ReplayStats> {
    this.stopped ??= (async () => {
      clearInterval(this.timer);
      this.streams.send(this.pending.sort((a, b) => a.at - b.at));
      this.pending = [];
      await this.streams.close();
      return this.stats();
    })();
    return this.stopped;
  }

  stats(): ReplayStats {
    return { userActions: this.userActions, ...this.streams.counts };
  }

  private tick(now: number): void {
    while (this.nextArrival <= now) {
      this.pending.push(...this.traffic.userAction(this.nextArrival));
      this.userActions++;
      this.nextArrival += this.traffic.nextGapMs(this.opts.rate);
    }
    const due = this.pending.filter((e) => e.at <= now).sort((a, b) => a.at - b.at);
    this.pending = this.pending.filter((e) => e.at > now);
    this.streams.send(due);
  }
}

/**
 * `userActions` user actions at `rate` per second of simulated time from `startMs`, sent without waiting:
 * batched as the live replay would (one message per sidecar per flush interval of simulated time), then
 * the streams end. What a seed produces does not depend on when this runs.
 */
export async function replayBurst(opts: {
  target: string; seed: number; userActions: number; rate?: number; startMs: number; flushIntervalMs?: number;
}): Promise<ReplayStats> {
  const rate = opts.rate ?? 10;
  const flushMs = opts.flushIntervalMs ?? 1000;
  checkRate(rate);
  const traffic = new BoutiqueTraffic(opts.seed);
  const streams = new SidecarStreams(opts.target);
  const entries: LoggedEntry[] = [];
  let t = opts.startMs;
  for (let i = 0; i < opts.userActions; i++) {
    entries.push(...traffic.userAction(t));
    t += traffic.nextGapMs(rate);
  }
  entries.sort((a, b) => a.at - b.at);
  for (let i = 0; i < entries.length;) {
    const flushAt = opts.startMs + (Math.floor((entries[i]!.at - opts.startMs) / flushMs) + 1) * flushMs;
    let j = i;
    while (j < entries.length && entries[j]!.at < flushAt) j++;
    streams.send(entries.slice(i, j));
    i = j;
  }
  await streams.close();
  return { userActions: opts.userActions, ...streams.counts };
}
