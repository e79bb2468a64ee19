import { aioVitestConfig } from '../vitest.shared.mjs';
export default aioVitestConfig('e2e');
