import { invalidArgument } from '@aio/grpc';

/** A non-negative integer query parameter; absent or empty is 0 (the server default). */
export function uintParam(field: string, value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d{1,10}$/.test(value) || Number(value) > 0xffffffff) throw invalidArgument(field, 'must be a non-negative integer');
  return Number(value);
}
