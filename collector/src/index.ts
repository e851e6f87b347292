// Public surface of @custodian/collector (for tests and tools in other packages).
export { type App, type AppModule, type CreateAppOptions, createApp } from './app.ts';
export { type CollectorConfig, defaultConfig, loadConfig } from './config.ts';
export { openLevelStore, openMemoryStore } from './store/index.ts';
export type * from './store/types.ts';
