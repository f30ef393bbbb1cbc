// Compute Engine machine types as data: config.ts checks `meshscope:cluster.machineType` and each VM
// workload's `machineType` against it, so a typo (`e2-standrd-4`) is refused by name, with the nearest
// valid type, before anything is created rather than minutes into `pulumi up`.
//
// Source: cloud.google.com/compute/docs/general-purpose-machines (the predefined shapes of E2, N1, N2, N2D
// and T2D; E2 is offered in every region). Which other series a region offers comes from the zone table of
// cloud.google.com/compute/docs/regions-zones; only the committed stacks' region has a row, and it was not
// re-read in Dec 2026 (a series missing from a zone is refused by GCE at `up`). Only general-purpose series
// are listed: the mesh needs nothing else. A region or series added here names where it was checked.

export interface MachineSeries {
  /** The predefined types, `<series>-<shape>`. */
  types: readonly string[];
  /** Regions where the series was checked to be offered; `'all'` when Google offers it in every region. */
  regions: readonly string[] | 'all';
}

const shapes = (series: string, kind: string, vcpus: readonly number[]) => vcpus.map((n) => `${series}-${kind}-${n}`);

/** Regions the committed stacks use (Pulumi.dev.yaml, Pulumi.prod.yaml), where each series below was checked. */
export const CHECKED_REGIONS = ['europe-west1'] as const;

export const MACHINE_SERIES: Readonly<Record<string, MachineSeries>> = {
  e2: {
    types: [
      'e2-micro', 'e2-small', 'e2-medium',
      ...shapes('e2', 'standard', [2, 4, 8, 16, 32]),
      ...shapes('e2', 'highmem', [2, 4, 8, 16]),
      ...shapes('e2', 'highcpu', [2, 4, 8, 16, 32]),
    ],
    regions: 'all',
  },
  n1: {
    types: [
      'n1-standard-1', ...shapes('n1', 'standard', [2, 4, 8, 16, 32, 64, 96]),
      ...shapes('n1', 'highmem', [2, 4, 8, 16, 32, 64, 96]),
      ...shapes('n1', 'highcpu', [2, 4, 8, 16, 32, 64, 96]),
    ],
    regions: CHECKED_REGIONS,
  },
  n2: {
    types: [
      ...shapes('n2', 'standard', [2, 4, 8, 16, 32, 48, 64, 80, 96, 128]),
      ...shapes('n2', 'highmem', [2, 4, 8, 16, 32, 48, 64, 80, 96, 128]),
      ...shapes('n2', 'highcpu', [2, 4, 8, 16, 32, 48, 64, 80, 96]),
    ],
    regions: CHECKED_REGIONS,
  },
  n2d: {
    types: [
      ...shapes('n2d', 'standard', [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224]),
      ...shapes('n2d', 'highmem', [2, 4, 8, 16, 32, 48, 64, 80, 96]),
      ...shapes('n2d', 'highcpu', [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224]),
    ],
    regions: CHECKED_REGIONS,
  },
  t2d: {
    types: shapes('t2d', 'standard', [1, 2, 4, 8, 16, 32, 48, 60]),
    regions: CHECKED_REGIONS,
  },
};

/** Every predefined type of the table, whatever the region. */
export const ALL_MACHINE_TYPES: readonly string[] = Object.values(MACHINE_SERIES).flatMap((s) => s.types);

/**
 * The types a stack in `region` may name. A region the table has checked gets exactly the series offered
 * there; any other region gets every listed type (the name is still checked; whether its zone offers the
 * series is then GCE's to say at `up`).
 */
export function machineTypesIn(region: string): readonly string[] {
  const checked = (CHECKED_REGIONS as readonly string[]).includes(region);
  if (!checked) return ALL_MACHINE_TYPES;
  return Object.values(MACHINE_SERIES)
    .filter((s) => s.regions === 'all' || s.regions.includes(region))
    .flatMap((s) => s.types);
}
