export * from './codec.ts';
export * from './errors.ts';
export * from './limits.ts';
export * from './precheck.ts';
export * from './uninstall.ts';
