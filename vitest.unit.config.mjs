import { aioVitestConfig } from './vitest.shared.mjs';
export default aioVitestConfig('unit');
