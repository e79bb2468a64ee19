import { ensureMesh } from './mesh.fixture.js';

let stop: () => Promise<void> = () => Promise.resolve();

export async function setup(): Promise<void> {
  stop = await ensureMesh();
}

export async function teardown(): Promise<void> {
  await stop();
}
