// Runs one program of the user's machine (pulumi, gcloud, docker, kubectl …) found on PATH, and says what
// happened in a form a check can judge: missing, or its exit code and output. Shared by `npm run
// preflight` and `npm run open`.
import { execFile } from 'node:child_process';

export interface CommandResult {
  /** The program is not on PATH. */
  missing: boolean;
  code: number;
  stdout: string;
  stderr: string;
}

export function runCommand(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, cwd, maxBuffer: 16 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve({ missing: true, code: 127, stdout: '', stderr: '' });
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ missing: false, code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** The first line of what a failed command printed, for a check's detail. */
export function firstLine(r: CommandResult): string {
  return (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? '';
}
