import { mintToken, resolveAuthSecret } from '@aio/auth';
import type { TrainerConfig } from './config.js';

let cached: { token: string; expires: number } | undefined;

/**
 * The token the trainer presents to the services it calls (registry, ingestion): AIO_SERVICE_TOKEN when
 * tokens come from an identity provider; locally a short-lived `service` token minted with the HS256
 * secret, cached until a minute before it expires.
 */
export async function serviceToken(config: TrainerConfig): Promise<string> {
  if (config.AIO_SERVICE_TOKEN) return config.AIO_SERVICE_TOKEN;
  const secret = resolveAuthSecret(config.AIO_AUTH_SECRET);
  if (secret === undefined) throw new Error('the trainer needs AIO_SERVICE_TOKEN (or AIO_AUTH_SECRET locally) to call the registry and ingestion');
  if (cached === undefined || cached.expires < Date.now() + 60_000) {
    const ttlSeconds = 15 * 60;
    cached = {
      token: await mintToken({ secret, subject: 'trainer', roles: ['service'], issuer: config.AIO_AUTH_ISSUER, audience: config.AIO_AUTH_AUDIENCE, ttlSeconds }),
      expires: Date.now() + ttlSeconds * 1000,
    };
  }
  return cached.token;
}
