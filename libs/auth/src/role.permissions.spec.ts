import { describe, expect, it } from 'vitest';
import { isAllowed, PERMISSIONS, ROLE_PERMISSIONS } from './role.permissions.js';

describe('roles and permissions', () => {
  it('gives viewers every read permission and nothing else', () => {
    expect(ROLE_PERMISSIONS.viewer).toEqual(['datasets:read', 'models:read', 'training:read', 'monitor:read']);
  });

  it('matches the documented table', () => {
    expect([...ROLE_PERMISSIONS.producer].sort()).toEqual(['datasets:read', 'feedback:write', 'inference:infer', 'records:write']);
    expect(ROLE_PERMISSIONS['ml-engineer']).not.toContain('inference:admin');
    expect(ROLE_PERMISSIONS['ml-engineer']).toHaveLength(PERMISSIONS.length - 1);
    expect(ROLE_PERMISSIONS.admin).toEqual(PERMISSIONS);
    expect(ROLE_PERMISSIONS.service).toEqual(PERMISSIONS);
  });

  it('allows when any role grants the permission', () => {
    const p = { subject: 'a', roles: ['viewer', 'producer'] as const };
    expect(isAllowed({ ...p, roles: [...p.roles] }, 'records:write')).toBe(true);
    expect(isAllowed({ ...p, roles: [...p.roles] }, 'models:read')).toBe(true);
    expect(isAllowed({ ...p, roles: [...p.roles] }, 'models:write')).toBe(false);
  });

  it('denies principals without roles and unknown permissions', () => {
    expect(isAllowed({ subject: 'a', roles: [] }, 'models:read')).toBe(false);
    expect(isAllowed({ subject: 'a', roles: ['admin'] }, 'models:raed')).toBe(false);
  });
});
