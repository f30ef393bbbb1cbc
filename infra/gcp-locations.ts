// Google Cloud's Compute Engine regions and their zones, as data: config.ts checks `gcp:region` and
// `gcp:zone` against it, so a made-up or misspelt location fails before anything is created.
// Source: cloud.google.com/compute/docs/regions-zones ("Available regions and zones"), cross-checked with
// the region/zone list of cloud.google.com/memorystore/docs/redis/regions; checked Dec 2026. A region
// Google opens later is one more row.

/** Region → the letters of its zones (`europe-west1` has no zone `a`). */
export const GCP_ZONES: Readonly<Record<string, string>> = {
  'africa-south1': 'abc',
  'asia-east1': 'abc',
  'asia-east2': 'abc',
  'asia-northeast1': 'abc',
  'asia-northeast2': 'abc',
  'asia-northeast3': 'abc',
  'asia-south1': 'abc',
  'asia-south2': 'abc',
  'asia-southeast1': 'abc',
  'asia-southeast2': 'abc',
  'australia-southeast1': 'abc',
  'australia-southeast2': 'abc',
  'europe-central2': 'abc',
  'europe-north1': 'abc',
  'europe-north2': 'abc',
  'europe-southwest1': 'abc',
  'europe-west1': 'bcd',
  'europe-west2': 'abc',
  'europe-west3': 'abc',
  'europe-west4': 'abc',
  'europe-west6': 'abc',
  'europe-west8': 'abc',
  'europe-west9': 'abc',
  'europe-west10': 'abc',
  'europe-west12': 'abc',
  'me-central1': 'abc',
  'me-central2': 'abc',
  'me-west1': 'abc',
  'northamerica-northeast1': 'abc',
  'northamerica-northeast2': 'abc',
  'northamerica-south1': 'abc',
  'southamerica-east1': 'abc',
  'southamerica-west1': 'abc',
  'us-central1': 'abcf',
  'us-east1': 'bcd',
  'us-east4': 'abc',
  'us-east5': 'abc',
  'us-south1': 'abc',
  'us-west1': 'abc',
  'us-west2': 'abc',
  'us-west3': 'abc',
  'us-west4': 'abc',
};

export const GCP_REGIONS: readonly string[] = Object.keys(GCP_ZONES);

/** The zones of a region, e.g. `europe-west1` → europe-west1-b, -c, -d; empty for an unknown region. */
export function zonesOf(region: string): string[] {
  return [...(GCP_ZONES[region] ?? '')].map((letter) => `${region}-${letter}`);
}
