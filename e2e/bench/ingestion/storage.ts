// The storage's own bulk-insert ceiling: the documents the service would store, inserted with the
// mongodb driver the service uses (through its mongoose), insertMany of one service slice at a time,
// unordered, into a fresh collection with the service's index.
import { performance } from 'node:perf_hooks';
import type { StoredDoc } from './records.ts';
import { mongoose } from './deps.ts';

export interface InsertResult {
  docs: number;
  ms: number;
  errors: number;
}

export async function insertCeiling(uri: string, database: string, batches: readonly StoredDoc[][]): Promise<InsertResult> {
  const client = new mongoose.mongo.MongoClient(uri, { serverSelectionTimeoutMS: 5_000 });
  await client.connect();
  try {
    const db = client.db(database);
    await db.dropDatabase();
    const records = db.collection<StoredDoc>('records');
    // RecordsRepository's index; created before the writes, as the service does at start.
    await records.createIndex({ ds: 1, seq: 1 });
    let docs = 0;
    let errors = 0;
    const t0 = performance.now();
    for (const batch of batches) {
      if (batch.length === 0) continue;
      try {
        // A copy per write, as RecordsRepository.insertNew does (the driver adds nothing: _id is set).
        const res = await records.insertMany(batch.map((d) => ({ ...d })), { ordered: false });
        docs += res.insertedCount;
      } catch (err) {
        errors++;
        process.stderr.write(`ingestion bench: insertMany failed: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    const ms = performance.now() - t0;
    await db.dropDatabase();
    return { docs, ms, errors };
  } finally {
    await client.close();
  }
}
