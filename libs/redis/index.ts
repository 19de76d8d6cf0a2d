export * from './client';
export * from './scripts';
export * from './by-node';
