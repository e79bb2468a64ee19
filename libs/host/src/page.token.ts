import { invalidArgument } from '@aio/grpc';

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

/** 0 means the default; larger than the maximum is clamped (AIP-158). */
export function pageSize(requested: number): number {
  return requested === 0 ? DEFAULT_PAGE : Math.min(requested, MAX_PAGE);
}

/** Opaque to clients: base64url of the position after the last item returned. */
export function encodePageToken(position: string): string {
  return Buffer.from(position, 'utf8').toString('base64url');
}

export function decodePageToken(token: string, field: string): string | undefined {
  if (token === '') return undefined;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (decoded === '' || encodePageToken(decoded) !== token) throw invalidArgument(field, 'is not a token this API returned');
  return decoded;
}
