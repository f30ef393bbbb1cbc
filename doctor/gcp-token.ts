// The user's own Google access token for the Compute API: GOOGLE_OAUTH_ACCESS_TOKEN when set (CI; the same
// variable the Pulumi GCP provider reads), else what `gcloud auth print-access-token` prints.
import { execFile } from 'node:child_process';

export const TOKEN_ENV = 'GOOGLE_OAUTH_ACCESS_TOKEN';

export function googleAccessToken(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env[TOKEN_ENV]?.trim();
  if (fromEnv) return Promise.resolve(fromEnv);
  return new Promise((resolve, reject) => {
    execFile('gcloud', ['auth', 'print-access-token'], { timeout: 30_000, env }, (err, stdout, stderr) => {
      const token = stdout.trim();
      if (!err && token) return resolve(token);
      reject(new Error(`no Google access token: set ${TOKEN_ENV} or log in with \`gcloud auth login\``
        + ` (gcloud: ${err ? (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not installed' : stderr.trim() || err.message : 'printed nothing'})`));
    });
  });
}
