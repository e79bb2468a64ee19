import { invalidArgument } from '@aio/grpc';

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
  if (match?.[1] === undefined || match[2] === undefined) {
    throw invalidArgument('page_token', 'is not a token from a previous ListRuns response; omit it for the first page');
  }
  return { createTime: new Date(Number(match[1])), id: match[2] };
}

