import { invalidArgument } from '@aio/grpc';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1_000;

/** 0 means the default; anything above the cap is capped (the proto says "the server caps it"). */
export function pageSize(requested: number): number {
  return requested === 0 ? DEFAULT_PAGE_SIZE : Math.min(requested, MAX_PAGE_SIZE);
}

/** Where the next page of runs (newest first) starts: strictly older than this run. */
export interface RunCursor {
  createTime: Date;
  id: string;
}

export function encodeRunToken(cursor: RunCursor): string {
  return Buffer.from(`r:${cursor.createTime.getTime()}:${cursor.id}`, 'utf8').toString('base64url');
}

export function decodeRunToken(token: string): RunCursor | undefined {
  if (token === '') return undefined;
  const match = /^r:(\d{1,15}):(.+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
  if (match?.[1] === undefined || match[2] === undefined) throw badToken('ListRuns');
  return { createTime: new Date(Number(match[1])), id: match[2] };
}

/** Datasets page by name. */
export function encodeNameToken(lastName: string): string {
  return Buffer.from(`d:${lastName}`, 'utf8').toString('base64url');
}

export function decodeNameToken(token: string): string | undefined {
  if (token === '') return undefined;
  const decoded = Buffer.from(token, 'base64url').toString('utf8');
  if (!decoded.startsWith('d:') || decoded.length === 2) throw badToken('the datasets list');
  return decoded.slice(2);
}

function badToken(list: string): Error {
  return invalidArgument('page_token', `is not a token from a previous ${list} response; omit it for the first page`);
}
