export * from './byod-scope.ts';
export * from './local-time.ts';
export * from './policy.ts';
