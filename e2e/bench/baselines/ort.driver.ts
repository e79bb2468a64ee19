// Baseline (c): onnxruntime-node in-process, the compute ceiling. As many sessions as the gateway has
// inference workers, each with the gateway's session options (intraOp 1, interOp 1, sequential), so
// the threads doing math are the same; a call takes a free session (or waits for one), copies nothing
// but the prebuilt input tensor, and runs. Loaded by the load worker as a `module` driver.
import * as ort from 'onnxruntime-node';
import type { Driver } from '../lib/drivers.ts';
import { inputData } from '../lib/models.ts';

export interface OrtDriverArgs {
  file: string;
  inputName: string;
  shape: number[];
  sessions: number;
}

export async function ortDriver(args: OrtDriverArgs): Promise<Driver> {
  const options: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' };
  const sessions = await Promise.all(Array.from({ length: args.sessions }, () => ort.InferenceSession.create(args.file, options)));
  const count = args.shape.reduce((a, b) => a * b, 1);
  const feeds = { [args.inputName]: new ort.Tensor('float32', inputData(count), args.shape) };
  const free = [...sessions];
  const waiting: ((s: ort.InferenceSession) => void)[] = [];
  const acquire = (): Promise<ort.InferenceSession> => {
    const s = free.pop();
    return s !== undefined ? Promise.resolve(s) : new Promise((resolve) => waiting.push(resolve));
  };
  const release = (s: ort.InferenceSession): void => {
    const next = waiting.shift();
    if (next !== undefined) next(s);
    else free.push(s);
  };
  return {
    call: async () => {
      const s = await acquire();
      try {
        await s.run(feeds);
      } finally {
        release(s);
      }
    },
    close: async () => {
      await Promise.all(sessions.map((s) => s.release()));
    },
  };
}
