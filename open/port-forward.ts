// One `kubectl port-forward` to a Service, as a child process: resolves with the local address once kubectl
// says it forwards, rejects with kubectl's own words if it exits first, and stops on request.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ForwardSpec { namespace: string; service: string; remotePort: number; localPort: number }

export class PortForward {
  private readonly child: ChildProcess;
  private stderr = '';
  private exited = false;
  /** Settles when kubectl has exited, however it ended. */
  readonly done: Promise<number | null>;
  /** `http://127.0.0.1:<port>` once kubectl forwards. */
  readonly ready: Promise<string>;

  constructor(kubectl: string, readonly spec: ForwardSpec, env: NodeJS.ProcessEnv) {
    // `:80` asks kubectl for any free local port; it prints the one it took.
    const ports = `${spec.localPort === 0 ? '' : spec.localPort}:${spec.remotePort}`;
    // Its own process group: a terminal's Ctrl-C reaches only us, and we stop kubectl ourselves.
    this.child = spawn(kubectl, ['-n', spec.namespace, 'port-forward', `svc/${spec.service}`, ports, '--address', '127.0.0.1'],
      { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.done = new Promise((resolve) => this.child.on('exit', (code) => { this.exited = true; resolve(code); }));
    this.ready = new Promise((resolve, reject) => {
      let out = '';
      this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        // kubectl: "Forwarding from 127.0.0.1:8080 -> 8080"
        const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
        if (m) resolve(`http://127.0.0.1:${m[1]}`);
      });
      this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
      this.child.on('error', (e) => reject(new Error(`${kubectl}: ${e.message}`)));
      void this.done.then((code) => reject(new Error(`kubectl port-forward svc/${spec.service} exited ${code}: ${this.stderr.trim().split('\n')[0] ?? ''}`)));
    });
    this.ready.catch(() => undefined);
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Asks kubectl to stop and waits until it has. */
  async stop(): Promise<void> {
    if (!this.exited) this.child.kill('SIGTERM');
    await this.done;
  }
}
