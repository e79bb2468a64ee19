/**
 * V8 settings of the gateway process, applied by main.ts's first import (before anything else is loaded),
 * so they hold however the gateway is started (npm start, deploy/local, the image, a Deployment).
 *
 * No allocation-site pretenuring: V8 samples, at each scavenge, how many of an allocation site's young
 * objects are still alive, and from ~85% on allocates that site's objects in the old generation directly.
 * Under load the gateway's requests are always in flight when a scavenge runs, so the sites of its
 * per-request objects (decoded requests, answers, batch jobs) qualify; each such object then dies in the
 * old generation, where only a mark-compact collects it, and until then keeps everything young it points
 * at alive, which the next scavenges copy and promote. Measured under h2load (128 in flight, 8 s,
 * `--trace-gc-nvp`): 6-17% of what the young generation allocated was promoted and scavenges took
 * 0.7-1.1 s of the 8 s, with a mark-compact every 2-8 s; without it 0.4% is promoted, scavenges take
 * 0.15 s and no mark-compact runs (services/inference-gateway/README.md, "Tuning the tail").
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--no-allocation-site-pretenuring');
