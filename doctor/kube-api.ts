// The cluster, read with the user's own kubeconfig: one `kubectl proxy` on loopback (kubectl does the
// authentication, GKE's exec plugin included) that refuses every writing method but POST, which only the
// OAP GraphQL query uses. Objects come from the Kubernetes REST API; in-cluster HTTP goes through the API
// server's proxy subresources (`.../pods/<pod>:<port>/proxy/...`, `.../services/<svc>:<port>/proxy/...`).
import { spawn, type ChildProcess } from 'node:child_process';

export interface HttpAnswer { status: number; body: string }

export class KubeApi {
  private constructor(private readonly proc: ChildProcess, readonly baseUrl: string) {}

  /** Starts `kubectl proxy` on a free loopback port; rejects with kubectl's own words when it cannot. */
  static start(kubectl: string, kubeconfig: string | undefined, timeoutMs = 15_000): Promise<KubeApi> {
    const args = [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), 'proxy', '--address=127.0.0.1', '--port=0',
      '--reject-methods=^(PUT|PATCH|DELETE)$'];
    return new Promise((resolve, reject) => {
      let proc: ChildProcess;
      try {
        proc = spawn(kubectl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        return reject(new Error(`cannot run ${kubectl}: ${(err as Error).message}`));
      }
      let out = '';
      let err = '';
      const timer = setTimeout(() => fail(`kubectl proxy did not start within ${timeoutMs} ms`), timeoutMs);
      const fail = (why: string) => {
        clearTimeout(timer);
        proc.kill();
        reject(new Error(`cannot reach the cluster: ${why}${err.trim() ? `: ${err.trim()}` : ''}`));
      };
      proc.on('error', (e) => fail(`cannot run ${kubectl} (${e.message}); install kubectl or set MESHSCOPE_KUBECTL`));
      proc.on('exit', (code) => fail(`kubectl proxy exited with code ${code}`));
      proc.stderr!.on('data', (d) => (err += d));
      proc.stdout!.on('data', (d) => {
        out += d;
        // kubectl prints "Starting to serve on 127.0.0.1:PORT" once it listens.
        const m = /Starting to serve on ([\d.]+:\d+)/.exec(out);
        if (!m) return;
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve(new KubeApi(proc, `http://${m[1]}`));
      });
    });
  }

  async get(path: string): Promise<HttpAnswer> {
    const res = await fetch(this.baseUrl + path, { headers: { accept: 'application/json, */*' }, signal: AbortSignal.timeout(20_000) });
    return { status: res.status, body: await res.text() };
  }

  async postJson(path: string, body: unknown): Promise<HttpAnswer> {
    const res = await fetch(this.baseUrl + path, {
      method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body), signal: AbortSignal.timeout(20_000),
    });
    return { status: res.status, body: await res.text() };
  }

  /** GET of a Kubernetes object or list: its JSON, or an error with the API's own message. */
  async object<T>(path: string): Promise<T> {
    const a = await this.get(path);
    if (a.status !== 200) throw new Error(`GET ${path}: HTTP ${a.status}: ${statusMessage(a.body)}`);
    return JSON.parse(a.body) as T;
  }

  stop(): void {
    this.proc.kill();
  }
}

/** The `message` of a Kubernetes Status answer, else the start of the body. */
export function statusMessage(body: string): string {
  try {
    const s = JSON.parse(body) as { message?: string };
    if (typeof s.message === 'string') return s.message;
  } catch {
    /* not a Status */
  }
  return body.slice(0, 200).trim();
}
