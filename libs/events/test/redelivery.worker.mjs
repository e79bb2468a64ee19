// A consumer in its own process, so the test can SIGKILL it mid-batch. It imports the built lib
// (dist/) like a service would. Plain .mjs: it runs with `node` and needs no build of its own.
//
// Its effect is one line "<ce_id>\n" appended to LEDGER per handled event, written with a single
// write(2) on an O_APPEND descriptor and fsync'd: that one line is the effect AND the dedup record,
// so there is no moment at which one exists without the other. The DedupStore reads the same file.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { StructSchema } from '@bufbuild/protobuf/wkt';
import { createKafka, EventHandlers, EventSubscriber } from '../dist/index.js';

const { BROKERS, TOPIC, GROUP, LEDGER, HANG_AFTER } = process.env;
const hangAfter = HANG_AFTER === undefined ? Infinity : Number(HANG_AFTER);
const send = (msg) => process.send?.(msg);

// Only complete lines count: a line cut short can only be the last one, and its event was not handled.
const text = existsSync(LEDGER) ? readFileSync(LEDGER, 'utf8') : '';
const seen = new Set(text.split('\n').slice(0, -1));
const fd = openSync(LEDGER, 'a');

const ledgerDedup = {
  has: (id) => Promise.resolve(seen.has(id)),
  // The handler's append already recorded the id; nothing left to write.
  add: () => Promise.resolve(),
};

let handledHere = 0;
const logger = {
  debug: (msg, attrs) => {
    if (msg === 'duplicate event skipped') send({ skipped: attrs?.id });
  },
  info: () => undefined,
  warn: (msg, attrs, err) => console.warn(`[worker ${process.pid}] ${msg}`, attrs ?? '', err ?? ''),
  error: (msg, attrs, err) => console.error(`[worker ${process.pid}] ${msg}`, attrs ?? '', err ?? ''),
};

const kafka = createKafka({ brokers: BROKERS.split(','), clientId: `worker-${process.pid}`, logger });
const subscriber = new EventSubscriber(kafka, {
  groupId: GROUP,
  topics: [TOPIC],
  fromBeginning: true,
  logger,
  dedup: ledgerDedup,
  // Commit every 4 records so a kill lands between commits: the tail of the handled records is
  // handled but uncommitted, which is exactly what redelivery has to cope with.
  commitEvery: 4,
  consumer: { sessionTimeout: 6_000, rebalanceTimeout: 10_000, heartbeatInterval: 500 },
  handlers: new EventHandlers().on(StructSchema, async (event) => {
    if (handledHere >= hangAfter) {
      // Stuck mid-batch, like a process about to be killed: tell the test, then never finish.
      send({ hanging: event.id });
      await new Promise(() => undefined);
    }
    const line = Buffer.from(`${event.id}\n`);
    if (writeSync(fd, line) !== line.length) throw new Error('short write to the ledger');
    fsyncSync(fd);
    seen.add(event.id);
    handledHere++;
    send({ handled: event.id });
  }),
});

subscriber.consumer.on(subscriber.consumer.events.GROUP_JOIN, () => send({ joined: true }));
process.on('message', (msg) => {
  if (msg === 'stop') {
    void subscriber.stop().then(() => {
      closeSync(fd);
      process.exit(0);
    });
  }
});
await subscriber.start();
