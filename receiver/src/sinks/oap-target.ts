// Watches the name of a dns: OAP target (a headless Service: one address per OAP pod) and reports when
// its set of addresses changes. grpc-js re-resolves only after a connection fails, so without this a
// pod added by a scale-out would take no calls until some other pod broke.
import { promises as dns } from 'node:dns';

export class OapTargetWatch {
  private last: string | undefined;
  private readonly timer: NodeJS.Timeout;

  private constructor(private readonly host: string, everyMs: number, private readonly changed: (addresses: string[]) => void) {
    this.timer = setInterval(() => void this.check(), everyMs);
    this.timer.unref();
    void this.check();
  }

  /** A watch for `dns:[//authority/]host:port` targets with a name; none for addresses and ipv4: lists. */
  static forTarget(target: string, everyMs: number, changed: (addresses: string[]) => void): OapTargetWatch | undefined {
    const m = /^dns:(?:\/\/[^/]*\/)?(.+):\d+$/.exec(target);
    if (!m || /^[\d.]+$|^\[/.test(m[1]!)) return undefined;
    return new OapTargetWatch(m[1]!, everyMs, changed);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    let addresses: string[];
    try {
      addresses = (await dns.lookup(this.host, { all: true })).map((a) => a.address).sort();
    } catch {
      return; // a failed lookup changes nothing: grpc-js keeps its last answer too
    }
    const key = addresses.join(',');
    // The first answer is the one the channels started with.
    if (this.last !== undefined && key !== this.last) this.changed(addresses);
    this.last = key;
  }
}
