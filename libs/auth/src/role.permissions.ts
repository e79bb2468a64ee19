export const PERMISSIONS = [
  'datasets:read',
  'datasets:write',
  'records:write',
  'models:read',
  'models:write',
  'deployments:write',
  'training:read',
  'training:write',
  'inference:infer',
  'inference:admin',
  'monitor:read',
  'monitor:write',
  'feedback:write',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['viewer', 'producer', 'ml-engineer', 'admin', 'service'] as const;

export type Role = (typeof ROLES)[number];

/** Who made a call, as far as authorization cares. */
export interface Principal {
  subject: string;
  roles: Role[];
}

const all: readonly Permission[] = PERMISSIONS;

/** The one role -> permission table. Services check permissions, never role names. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  viewer: all.filter((p) => p.endsWith(':read')),
  producer: ['records:write', 'feedback:write', 'inference:infer', 'datasets:read'],
  'ml-engineer': all.filter((p) => p !== 'inference:admin'),
  admin: all,
  // Services calling each other act on behalf of users who were already checked at the edge.
  service: all,
};

const roleSet: ReadonlySet<string> = new Set(ROLES);

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && roleSet.has(value);
}

/** False for unknown permissions too, so a typo denies rather than grants. */
export function isAllowed(principal: Principal, permission: string): boolean {
  return principal.roles.some((role) => (ROLE_PERMISSIONS[role] as readonly string[]).includes(permission));
}
