// 64-bit integers kept exact from analysis to the OAP encoder: a JavaScript number while it is a safe
// integer, a BigInt beyond 2^53 (nanoseconds of a long duration, byte counts given as digits).
import type { Int64Field } from '../als/envoy-protos';

/** An exact 64-bit value: a number when it is a safe integer, otherwise a BigInt. */
export type Int64 = number | bigint;

/** The value of an int64/uint64 field; 0 when absent. */
export function int64Of(v: Int64Field | undefined): Int64 {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  return narrow(BigInt(v));
}

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A BigInt as a number when that is exact. */
export function narrow(b: bigint): Int64 {
  return b >= MIN_SAFE && b <= MAX_SAFE ? Number(b) : b;
}

/** a * m + b, exact (m small and positive, e.g. 1000 or 1e9). */
export function mulAdd(a: Int64, m: number, b: number): Int64 {
  if (typeof a === 'number') {
    const r = a * m + b;
    if (Number.isSafeInteger(r)) return r;
    return narrow(BigInt(a) * BigInt(m) + BigInt(b));
  }
  return narrow(a * BigInt(m) + BigInt(b));
}

export function sub(a: Int64, b: Int64): Int64 {
  if (typeof a === 'number' && typeof b === 'number') {
    const r = a - b;
    if (Number.isSafeInteger(r)) return r;
  }
  return narrow(BigInt(a) - BigInt(b));
}

/** The larger of a and b. */
export function max(a: Int64, b: Int64): Int64 {
  return a >= b ? a : b;
}
