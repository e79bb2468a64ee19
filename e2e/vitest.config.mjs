import { aioVitestConfig } from '../vitest.shared.mjs';

const config = aioVitestConfig('e2e');
// The mesh is started once for every e2e file (and stopped only if this run started it).
config.test.globalSetup = ['./test/mesh.setup.ts'];
export default config;
