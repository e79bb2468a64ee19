import { invalidArgument } from '@aio/grpc';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

/** 0 means the default; larger than the maximum is clamped (AIP-158: the server caps it). */
export function pageSize(requested: number): number {
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

// Tokens carry a marker so a token from another API, or made up, is refused instead of misread.
const MARK = 'p:';

/** Opaque to clients: base64url of the position after the last item returned. */
export function encodePageToken(position: string): string {
  return Buffer.from(MARK + position, 'utf8').toString('base64url');
}

/** The position to continue after, or undefined for the first page; INVALID_ARGUMENT for a token we did not issue. */
export function decodePageToken(token: string, field = 'page_token'): string | undefined {
  if (token === '') return undefined;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.startsWith(MARK) || decoded.length === MARK.length || Buffer.from(decoded, 'utf8').toString('base64url') !== token) {
    throw invalidArgument(field, 'is not a token from a previous response of this list; omit it for the first page');
  }
  return decoded.slice(MARK.length);
}
