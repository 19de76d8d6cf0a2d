export * from './client';
export * from './scripts';
