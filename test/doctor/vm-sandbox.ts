// A throwaway VM for vm-bootstrap/status-report.sh: a root folder, PATH shims for the commands that would
// touch the machine (getent, systemctl, runuser, logger; curl, jq, awk, stat and timeout are the real ones), and
// loopback stand-ins for what the script talks to: the GCE metadata server's guest attributes, Envoy's admin
// /clusters, and a TCP port playing istiod behind the east-west gateway.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HANG_GUARD_MS } from '../vm-bootstrap/sandbox';

export const STATUS_SCRIPT = join(__dirname, '..', '..', 'vm-bootstrap', 'status-report.sh');
const SHIMS = join(__dirname, 'shims');

export interface RunResult { code: number; stdout: string; stderr: string }

export class VmSandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'meshscope-status-'));
  readonly root = join(this.dir, 'root');
  private readonly bin = join(this.dir, 'bin');
  private readonly state = join(this.dir, 'state');

  constructor() {
    for (const d of [this.root, this.bin, join(this.state, 'units')]) mkdirSync(d, { recursive: true });
    for (const shim of readdirSync(SHIMS)) {
      copyFileSync(join(SHIMS, shim), join(this.bin, shim));
      chmodSync(join(this.bin, shim), 0o755);
    }
    writeFileSync(join(this.state, 'hosts'), '');
  }

  /** What the VM's resolver answers (hosts file and the sidecar's DNS capture, as getent sees them). */
  resolves(names: Record<string, string>): this {
    writeFileSync(join(this.state, 'hosts'), Object.entries(names).map(([n, ip]) => `${n} ${ip}\n`).join(''));
    return this;
  }

  /** A local user, as `getent passwd` lists it (istio-sidecar.deb creates istio-proxy). */
  user(name: string, uid: number): this {
    writeFileSync(join(this.state, 'passwd'), `${name}:x:${uid}:${uid}::/var/lib/istio:/bin/false\n`, { flag: 'a' });
    return this;
  }

  /** The shimmed commands the script ran, one line each. */
  calls(): string[] {
    const file = join(this.dir, 'calls.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  }

  unit(name: string, activeState: string): this {
    writeFileSync(join(this.state, 'units', name), `${activeState}\n`);
    return this;
  }

  /** The istio-token bootstrap minted, with its modification time. */
  token(content: string, mintedAt: Date): this {
    const file = join(this.root, 'var/run/secrets/tokens/istio-token');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content, { mode: 0o600 });
    utimesSync(file, mintedAt, mintedAt);
    return this;
  }

  run(args: string[], env: { metadataUrl: string; envoyAdmin: string }): Promise<RunResult> {
    const vars = {
      PATH: `${this.bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: this.dir,
      MESHSCOPE_ROOT: this.root,
      MESHSCOPE_METADATA_URL: env.metadataUrl,
      MESHSCOPE_ENVOY_ADMIN: env.envoyAdmin,
      SHIM_LOG: join(this.dir, 'calls.log'),
      SHIM_STATE: this.state,
    };
    // Asynchronous: the stand-ins live in this process's event loop.
    return new Promise((resolve) => {
      execFile('bash', [STATUS_SCRIPT, ...args], { env: vars, timeout: HANG_GUARD_MS }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      });
    });
  }

  journal(): string {
    const file = join(this.state, 'journal');
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface GuestAttributeWrite { path: string; flavor: string | undefined; body: string }

/**
 * The GCE metadata server's guest-attributes endpoint: `PUT /computeMetadata/v1/instance/guest-attributes/
 * <namespace>/<key>` with `Metadata-Flavor: Google`, the value as the body, 200 on success; 403 when the
 * instance has guest attributes disabled (cloud.google.com/compute/docs/metadata/manage-guest-attributes).
 */
export class FakeMetadataServer {
  readonly writes: GuestAttributeWrite[] = [];
  guestAttributesEnabled = true;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const prefix = '/computeMetadata/v1/instance/guest-attributes/';
      const flavor = req.headers['metadata-flavor'] as string | undefined;
      if (flavor !== 'Google') return this.answer(res, 403, 'Missing Metadata-Flavor:Google header.');
      if (req.method !== 'PUT' || !req.url?.startsWith(prefix)) return this.answer(res, 404, 'Not Found');
      if (!this.guestAttributesEnabled) return this.answer(res, 403, 'Guest attributes endpoint access is disabled.');
      this.writes.push({ path: req.url.slice(prefix.length), flavor, body: Buffer.concat(chunks).toString('utf8') });
      this.answer(res, 200, '');
    });
  });

  private answer(res: http.ServerResponse, status: number, body: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain' });
    res.end(body);
  }

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}/computeMetadata/v1`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** One upstream host as Envoy's admin `/clusters` lists it. */
export interface EnvoyHost { cluster: string; address: string; healthy?: boolean; cxActive?: number }

/**
 * Envoy's admin `GET /clusters` in its default text form: `cluster::default_priority::…` settings lines,
 * then per host `cluster::ip:port::stat::value` lines, health as `health_flags::healthy` or a flag such as
 * `/failed_eds_health` (envoyproxy/envoy docs/root/operations/admin.rst, "GET /clusters").
 */
export class FakeEnvoyAdmin {
  hosts: EnvoyHost[] = [];
  private readonly server = http.createServer((req, res) => {
    if (req.url !== '/clusters') {
      res.writeHead(404).end();
      return;
    }
    const lines: string[] = [];
    for (const cluster of new Set(this.hosts.map((h) => h.cluster))) {
      lines.push(`${cluster}::observability_name::${cluster}`, `${cluster}::default_priority::max_connections::4294967295`,
        `${cluster}::added_via_api::true`);
      for (const h of this.hosts.filter((x) => x.cluster === cluster)) {
        const p = `${cluster}::${h.address}`;
        lines.push(`${p}::cx_active::${h.cxActive ?? 0}`, `${p}::cx_connect_fail::0`, `${p}::rq_success::12`,
          `${p}::health_flags::${h.healthy === false ? '/failed_eds_health' : 'healthy'}`, `${p}::weight::1`,
          `${p}::region::europe-west1`, `${p}::zone::europe-west1-b`, `${p}::local_origin_success_rate::-1`);
      }
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(lines.join('\n') + '\n');
  });

  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A TCP port that accepts connections: istiod's xDS port as the east-west gateway forwards it. */
export async function listeningPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}
