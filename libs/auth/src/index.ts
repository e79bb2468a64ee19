export { AuthError, type AuthFailure } from './auth.error.js';
export { bearerFrom, type AuthorizationHeader } from './bearer.header.js';
export { findLocalAuthSecret, LOCAL_SECRET_FILE, resolveAuthSecret } from './local-secret.reader.js';
export { mintTokenCommand, type CommandResult } from './mint-token.command.js';
export {
  isAllowed,
  isRole,
  PERMISSIONS,
  ROLE_PERMISSIONS,
  ROLES,
  type Permission,
  type Principal,
  type Role,
} from './role.permissions.js';
export { DEFAULT_TOKEN_TTL_SECONDS, mintToken, type MintTokenOptions } from './token.minter.js';
export { MIN_SECRET_LENGTH, TokenVerifier, type TokenVerifierOptions } from './token.verifier.js';
