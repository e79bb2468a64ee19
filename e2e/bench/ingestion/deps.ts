// kafkajs and mongoose (with its mongodb driver) as the ingestion service resolves them: the same
// versions the subject runs, without adding dependencies to @aio/e2e.
import { createRequire } from 'node:module';
import path from 'node:path';
import { ROOT } from '../lib/result.ts';

const fromIngestion = createRequire(path.join(ROOT, 'services', 'ingestion', 'package.json'));

export const kafkajs = fromIngestion('kafkajs') as typeof import('../../../services/ingestion/node_modules/kafkajs/types/index.js');
export const mongoose = fromIngestion('mongoose') as typeof import('mongoose');
