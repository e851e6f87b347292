export * from './byod-scope.ts';
export * from './policy.ts';
