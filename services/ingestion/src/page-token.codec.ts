import { invalidArgument } from '@aio/grpc';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1_000;

/** 0 means the default; anything above the cap is capped (the proto says "the server caps it"). */
export function pageSize(requested: number): number {
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/** An opaque page token: the last dataset name of the previous page, base64url-encoded. */
export function encodePageToken(lastName: string): string {
  return Buffer.from(`d:${lastName}`, 'utf8').toString('base64url');
}

/** The name to continue after, or undefined for the first page; INVALID_ARGUMENT for a token we did not issue. */
export function decodePageToken(token: string): string | undefined {
  if (token === '') return undefined;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.startsWith('d:') || decoded.length === 2) {
    throw invalidArgument('page_token', 'is not a token from a previous ListDatasets response; omit it for the first page');
  }
  return decoded.slice(2);
}
