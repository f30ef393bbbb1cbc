// A built entry point (receiver/dist/...) run as a child process on loopback, its output collected; a
// hung child is killed after `killAfterMs`, so it never outlives its test.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildRun { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export class NodeChild {
  readonly proc: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<ChildRun>;

  constructor(script: string, args: string[], opts: { env?: NodeJS.ProcessEnv; killAfterMs: number; nodeArgs?: string[] }) {
    this.proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), script, ...args], { env: { PATH: process.env.PATH, ...opts.env }, stdio: 'pipe' });
    this.proc.stdout!.on('data', (d) => (this.stdout += d));
    this.proc.stderr!.on('data', (d) => (this.stderr += d));
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), opts.killAfterMs);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
    }));
  }

  /** Still running (neither exited nor killed). */
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
}
