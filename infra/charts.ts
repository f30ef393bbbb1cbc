// Everything `pulumi up` installs from upstream packages, pinned in one table: each Helm chart's name,
// version and repository, and each release manifest, with where its copy sits in the local chart cache.
// The program installs from the local chart cache, as `npm run render` and the tests render it (see
// infra/chart-cache.ts); `npm run charts` fills the cache from the repositories named here and
// infra/charts.lock.json holds the digest of each, written when a pin moves.

/** One Helm chart at one version. */
export interface ChartPin {
  /** The chart's name in its repository. */
  chart: string;
  version: string;
  /** Helm repository URL, or the OCI registry path the chart lives under (`oci://…`, chart name appended). */
  repo: string;
  /** Folder of the unpacked chart inside the chart cache. */
  cachePath: string;
  /** The public source it is published from (repository, tag, folder), for provenance. */
  source: string;
}

export interface IstioRelease {
  base: ChartPin;
  istiod: ChartPin;
  /** The `gateway` chart, installed as the east-west gateway. */
  gateway: ChartPin;
}

export interface SkywalkingRelease {
  chart: ChartPin;
  /** OAP and UI image tag the chart's README pairs with this chart version. */
  oapVersion: string;
  /** BanyanDB image tag the chart's README pairs with it (its subchart requires one). */
  banyandbVersion: string;
}

export interface OnlineBoutiqueRelease {
  /** The release's Kubernetes manifest inside the chart cache (the program declares these objects itself). */
  manifestPath: string;
  source: string;
}

export const ISTIO_CHART_REPO = 'https://istio-release.storage.googleapis.com/charts';
export const SKYWALKING_CHART_REPO = 'oci://registry-1.docker.io/apache';

const istioChart = (version: string, chart: string, upstreamPath: string): ChartPin => ({
  chart,
  version,
  repo: ISTIO_CHART_REPO,
  cachePath: `istio/${version}/${chart}`,
  source: `istio/istio ${version} manifests/charts/${upstreamPath}`,
});

/** Istio releases whose charts are cached (1.31.0 could not be confirmed to exist; 1.30.3 can). */
export const ISTIO_RELEASES: Readonly<Record<string, IstioRelease>> = {
  '1.30.3': {
    base: istioChart('1.30.3', 'base', 'base'),
    istiod: istioChart('1.30.3', 'istiod', 'istio-control/istio-discovery'),
    gateway: istioChart('1.30.3', 'gateway', 'gateway'),
  },
};

/** apache/skywalking-helm releases whose chart (with its BanyanDB subchart) is cached. */
export const SKYWALKING_RELEASES: Readonly<Record<string, SkywalkingRelease>> = {
  '4.9.0': {
    chart: {
      chart: 'skywalking-helm',
      version: '4.9.0',
      repo: SKYWALKING_CHART_REPO,
      cachePath: 'skywalking-helm/4.9.0/skywalking-helm',
      source: 'apache/skywalking-helm v4.9.0 chart/skywalking (BanyanDB subchart: apache/skywalking-banyandb-helm v0.6.0)',
    },
    oapVersion: '10.4.0',
    banyandbVersion: '0.10.1',
  },
};

/** Online Boutique releases whose manifest is cached. */
export const ONLINE_BOUTIQUE_RELEASES: Readonly<Record<string, OnlineBoutiqueRelease>> = {
  'v0.10.6': {
    manifestPath: 'online-boutique/v0.10.6/kubernetes-manifests.yaml',
    source: 'GoogleCloudPlatform/microservices-demo v0.10.6 release/kubernetes-manifests.yaml',
  },
};

/** Every chart pinned above, for the cache filler and the renderer. */
export function allCharts(): ChartPin[] {
  return [
    ...Object.values(ISTIO_RELEASES).flatMap((r) => [r.base, r.istiod, r.gateway]),
    ...Object.values(SKYWALKING_RELEASES).map((r) => r.chart),
  ];
}
