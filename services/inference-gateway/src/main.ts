import './v8.flags.js';
// Telemetry starts before Nest or any client is loaded (serviceMain imports the app afterwards).
import { serviceMain } from '@aio/host/platform';
import { loadConfig } from './config.js';

await serviceMain({
  service: 'inference-gateway',
  version: '0.1.0',
  loadConfig,
  start: async (config, telemetry) => (await import('./inference-gateway.app.js')).startInferenceGateway(config, telemetry),
});
