import { GrpcError, Status } from '@aio/grpc';
import { GetModelHealthRequestSchema } from '@aio/proto/aio/monitor/v1/monitor';
import { create } from '@bufbuild/protobuf';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import type { WatchedModelDoc } from './watched-models.repository.js';
import {
  applyEvent,
  checkVersionWatched,
  RECENT_EVENT_IDS,
  validateHealthRequest,
  watchedModelOf,
  type WatchChange,
  type WatchEvent,
} from './watched-models.service.js';

const t0 = new Date('2030-01-01T00:00:00Z');
const at = (seconds: number): Date => new Date(t0.getTime() + seconds * 1000);
const ev = (id: string, change: WatchChange, time = t0): WatchEvent => ({ id, model: 'iris', time, change });

function fold(events: WatchEvent[]): WatchedModelDoc {
  let doc: WatchedModelDoc | null = null;
  for (const e of events) doc = applyEvent(doc, e) ?? doc;
  if (doc === null) throw new Error('no document');
  return doc;
}

function codeOf(fn: () => unknown): Status | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof GrpcError ? err.code : undefined;
  }
  return undefined;
}

describe('applyEvent', () => {
  it('creates the document from the first event and tracks versions, aliases and generation', () => {
    const doc = fold([
      ev('a', { kind: 'model-created', aliases: {} }),
      ev('b', { kind: 'version-created', version: 2 }, at(2)),
      ev('c', { kind: 'version-created', version: 1 }, at(1)),
      ev('d', { kind: 'alias-moved', alias: 'champion', toVersion: 1 }, at(3)),
      ev('e', { kind: 'alias-moved', alias: 'champion', toVersion: 2 }, at(4)),
      ev('f', { kind: 'deployment-changed', generation: 3 }, at(5)),
    ]);
    expect(doc).toMatchObject({
      _id: 'iris',
      versions: [1, 2],
      aliases: [{ alias: 'champion', version: 2 }],
      deploymentGeneration: 3,
      firstSeenAt: t0,
      lastSeenAt: at(5),
      eventCount: 6,
      recentEventIds: ['a', 'b', 'c', 'd', 'e', 'f'],
    });
  });

  it('answers undefined for an event id it already applied', () => {
    const doc = fold([ev('a', { kind: 'model-created', aliases: {} }), ev('b', { kind: 'version-created', version: 1 })]);
    expect(applyEvent(doc, ev('b', { kind: 'version-created', version: 1 }))).toBeUndefined();
  });

  it('keeps the highest deployment generation when a stale event arrives', () => {
    const doc = fold([ev('a', { kind: 'deployment-changed', generation: 5 }), ev('b', { kind: 'deployment-changed', generation: 4 })]);
    expect(doc.deploymentGeneration).toBe(5);
    expect(doc.eventCount).toBe(2);
  });

  it('lets aliases from later moves win over a late ModelCreated', () => {
    const doc = fold([
      ev('a', { kind: 'alias-moved', alias: 'champion', toVersion: 3 }),
      ev('b', { kind: 'model-created', aliases: { champion: 1, challenger: 2 } }),
    ]);
    expect(doc.aliases).toEqual([
      { alias: 'challenger', version: 2 },
      { alias: 'champion', version: 3 },
    ]);
  });

  it('widens first/last seen to the event times, whatever the arrival order', () => {
    const doc = fold([ev('a', { kind: 'version-created', version: 1 }, at(10)), ev('b', { kind: 'version-created', version: 2 }, at(5))]);
    expect(doc.firstSeenAt).toEqual(at(5));
    expect(doc.lastSeenAt).toEqual(at(10));
  });

  it('remembers only the latest event ids', () => {
    const events = Array.from({ length: RECENT_EVENT_IDS + 10 }, (_, i) => ev(`id-${i}`, { kind: 'deployment-changed', generation: i }));
    const doc = fold(events);
    expect(doc.recentEventIds).toHaveLength(RECENT_EVENT_IDS);
    expect(doc.recentEventIds.at(-1)).toBe(`id-${RECENT_EVENT_IDS + 9}`);
    expect(doc.recentEventIds[0]).toBe('id-10');
  });

  it('does not mutate the document it was given', () => {
    const doc = fold([ev('a', { kind: 'alias-moved', alias: 'champion', toVersion: 1 })]);
    const before = structuredClone(doc);
    applyEvent(doc, ev('b', { kind: 'alias-moved', alias: 'champion', toVersion: 2 }));
    expect(doc).toEqual(before);
  });
});

describe('watchedModelOf', () => {
  it('maps the document to the proto message', () => {
    const m = watchedModelOf(fold([ev('a', { kind: 'alias-moved', alias: 'champion', toVersion: 4 }, at(1))]));
    expect(m.model).toBe('iris');
    expect(m.versions).toEqual([4]);
    expect(m.aliases).toEqual({ champion: 4 });
    expect(m.firstSeenTime && timestampDate(m.firstSeenTime)).toEqual(at(1));
  });
});

describe('model health', () => {
  const doc = fold([ev('a', { kind: 'version-created', version: 1 })]);
  const req = (init: { model?: string; version?: number; windowSeconds?: number }) => create(GetModelHealthRequestSchema, { model: 'iris', ...init });

  it('rejects an empty model and an over-long window, naming the field', () => {
    expect(codeOf(() => validateHealthRequest(req({ model: '' })))).toBe(Status.INVALID_ARGUMENT);
    expect(() => validateHealthRequest(req({ model: '' }))).toThrow(/^model: /);
    expect(() => validateHealthRequest(req({ windowSeconds: 31 * 24 * 3600 }))).toThrow(/^window_seconds: /);
  });

  it('answers NOT_FOUND for a version it never saw', () => {
    expect(codeOf(() => checkVersionWatched(doc, req({ version: 7 })))).toBe(Status.NOT_FOUND);
    expect(() => checkVersionWatched(doc, req({ version: 1, windowSeconds: 60 }))).not.toThrow();
    expect(() => checkVersionWatched(doc, req({}))).not.toThrow();
  });
});
